//! A de-duplicating delay queue for account syncs asked for later ("read again once a read can
//! show this write"): one entry per account, at its earliest requested time, served by one task,
//! instead of a sleeping task per request.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use futures::channel::mpsc;
use kube::runtime::reflector::ObjectRef;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::time::DelayQueue;
use tokio_util::time::delay_queue::Key;

/// Asks for `uid` (with its object) to be handed on at `at`.
#[derive(Clone)]
pub struct Requeue<K: kube::Resource> {
    tx: mpsc::UnboundedSender<(String, ObjectRef<K>, Instant)>,
}

/// The receiving side: run it with [`Due::run`].
pub struct Due<K: kube::Resource> {
    rx: mpsc::UnboundedReceiver<(String, ObjectRef<K>, Instant)>,
}

pub fn queue<K: kube::Resource>() -> (Requeue<K>, Due<K>) {
    let (tx, rx) = mpsc::unbounded();
    (Requeue { tx }, Due { rx })
}

impl<K: kube::Resource> Requeue<K> {
    /// Hands `object` on after `delay`; an earlier request for the same `uid` wins, a later one
    /// is absorbed by it.
    pub fn after(&self, uid: String, object: ObjectRef<K>, delay: Duration) {
        // A closed receiver means the scope is shutting down.
        let _ = self
            .tx
            .unbounded_send((uid, object, Instant::now() + delay));
    }
}

impl<K> Due<K>
where
    K: kube::Resource,
    K::DynamicType: Clone,
{
    /// Calls `fire(uid, object)` when each entry is due, until `shutdown`.
    pub async fn run(
        mut self,
        mut fire: impl FnMut(String, ObjectRef<K>),
        shutdown: CancellationToken,
    ) {
        let mut queue: DelayQueue<(String, ObjectRef<K>)> = DelayQueue::new();
        let mut keys: HashMap<String, Key> = HashMap::new();
        loop {
            tokio::select! {
                request = self.rx.next() => match request {
                    Some((uid, object, at)) => schedule(&mut queue, &mut keys, uid, object, at),
                    None => return,
                },
                Some(due) = queue.next(), if !queue.is_empty() => {
                    let (uid, object) = due.into_inner();
                    keys.remove(&uid);
                    fire(uid, object);
                }
                _ = shutdown.cancelled() => return,
            }
        }
    }
}

fn schedule<K: kube::Resource>(
    queue: &mut DelayQueue<(String, ObjectRef<K>)>,
    keys: &mut HashMap<String, Key>,
    uid: String,
    object: ObjectRef<K>,
    at: Instant,
) {
    match keys.get(&uid) {
        Some(key) if queue.deadline(key) <= at => {}
        Some(key) => queue.reset_at(key, at),
        None => {
            let key = queue.insert_at((uid.clone(), object), at);
            keys.insert(uid, key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use k8s_openapi::api::core::v1::ConfigMap;

    use super::*;

    fn obj(name: &str) -> ObjectRef<ConfigMap> {
        ObjectRef::new(name).within("ns")
    }

    #[tokio::test(start_paused = true)]
    async fn repeated_requests_fire_once_at_the_earliest_time() {
        let (requeue, due) = queue::<ConfigMap>();
        let fired = Arc::new(Mutex::new(Vec::new()));
        let shutdown = CancellationToken::new();
        let seen = fired.clone();
        let start = Instant::now();
        let task = tokio::spawn(due.run(
            move |uid, o| seen.lock().unwrap().push((uid, o.name, start.elapsed())),
            shutdown.clone(),
        ));
        requeue.after("a".into(), obj("a"), Duration::from_secs(5));
        requeue.after("a".into(), obj("a"), Duration::from_secs(2));
        requeue.after("a".into(), obj("a"), Duration::from_secs(9));
        requeue.after("b".into(), obj("b"), Duration::from_secs(3));
        tokio::time::sleep(Duration::from_secs(20)).await;
        assert_eq!(
            fired.lock().unwrap().clone(),
            vec![
                ("a".to_string(), "a".to_string(), Duration::from_secs(2)),
                ("b".to_string(), "b".to_string(), Duration::from_secs(3)),
            ]
        );
        // Once fired, the same uid can be queued again.
        requeue.after("a".into(), obj("a"), Duration::from_secs(1));
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(fired.lock().unwrap().len(), 3);
        assert_eq!(fired.lock().unwrap()[2].2, Duration::from_secs(21));
        shutdown.cancel();
        task.await.unwrap();
    }
}
