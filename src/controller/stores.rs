//! Controllers whose store readiness any number of tasks can wait for.
//!
//! kube's `Store::wait_until_ready` keeps a single waker: of several tasks waiting at once only
//! the last to poll is woken, and the controller's own runner is always one of them. A channel
//! reconcile waiting for the account store right after a start could sleep forever (and the
//! runner could miss its start). So nothing here calls it; readiness is taken from the watch
//! stream itself, when the initial listing is complete, and broadcast on a `watch` channel.

use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;

use futures::channel::mpsc;
use futures::{TryStreamExt, future};
use kube::runtime::controller::Controller;
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Api, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::watch;

use super::echoes::OwnWrites;

/// Whether a store has received its first complete listing.
#[derive(Clone)]
pub struct Readiness(watch::Receiver<bool>);

impl Readiness {
    fn channel() -> (watch::Sender<bool>, Self) {
        let (tx, rx) = watch::channel(false);
        (tx, Self(rx))
    }

    /// A store that is already filled (for tests of what waits on one).
    #[cfg(test)]
    pub fn ready() -> Self {
        Self(watch::channel(true).1)
    }

    /// Waits until the store is filled; false when the watch ended first (shutdown).
    pub async fn wait(&self) -> bool {
        self.0.clone().wait_for(|ready| *ready).await.is_ok()
    }
}

/// A resource the watch reported deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deleted {
    pub kind: String,
    pub uid: String,
    pub namespace: String,
    pub name: String,
}

/// What in-memory state must hear of from a watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Gone {
    Deleted(Deleted),
    /// A complete listing reached the store: what it lacks is gone.
    Relisted,
}

/// A controller over `api` and the readiness of its store. Every watch event is shown to
/// `index` once the store applied it; deletions and relistings are told to `gone`; the echoes
/// of the controllers' own status writes reach the store but reconcile nothing.
pub fn controller<K>(
    api: Api<K>,
    echoes: Arc<OwnWrites>,
    wc: watcher::Config,
    gone: mpsc::UnboundedSender<Gone>,
    index: impl Fn(&watcher::Event<K>) + Send + 'static,
) -> (Controller<K>, Readiness)
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Default + Debug + Unpin,
{
    let (reader, writer) = reflector::store();
    let (ready_tx, readiness) = Readiness::channel();
    let forget = echoes.clone();
    let objects = watcher(api, wc)
        .default_backoff()
        // Nothing here reads managedFields and they are close to half of each cached object.
        .modify(|obj| obj.meta_mut().managed_fields = None)
        .reflect(writer)
        // `reflect` has applied the event to the store when it reaches here.
        .inspect_ok(move |event| {
            index(event);
            // A closed receiver means the scope is shutting down.
            match event {
                watcher::Event::InitDone => {
                    ready_tx.send_replace(true);
                    let _ = gone.unbounded_send(Gone::Relisted);
                }
                watcher::Event::Delete(obj) => {
                    let gone_obj = deleted(obj);
                    forget.forget(&gone_obj.uid);
                    let _ = gone.unbounded_send(Gone::Deleted(gone_obj));
                }
                _ => {}
            }
        })
        .applied_objects()
        .try_filter(move |obj| future::ready(!echoes.is_echo(obj)));
    (Controller::for_stream(objects, reader), readiness)
}

fn deleted<K: Resource>(obj: &K) -> Deleted
where
    K::DynamicType: Default,
{
    let meta = obj.meta();
    Deleted {
        kind: K::kind(&K::DynamicType::default()).into_owned(),
        uid: meta.uid.clone().unwrap_or_default(),
        namespace: meta.namespace.clone().unwrap_or_default(),
        name: meta.name.clone().unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Wake, Waker};

    use k8s_openapi::api::core::v1::ConfigMap;

    use super::*;

    #[derive(Default)]
    struct Wakes(AtomicUsize);

    impl Wake for Wakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting_waker() -> (Arc<Wakes>, Waker) {
        let wakes = Arc::new(Wakes::default());
        (wakes.clone(), Waker::from(wakes))
    }

    /// Why this module exists. When kube wakes every waiter this fails, and `Readiness` can go.
    #[test]
    fn kube_store_readiness_wakes_only_the_last_of_two_waiters() {
        let (store, mut writer) = reflector::store::<ConfigMap>();
        let mut first = Box::pin(store.wait_until_ready());
        let mut second = Box::pin(store.wait_until_ready());
        let (first_wakes, first_waker) = counting_waker();
        let (second_wakes, second_waker) = counting_waker();
        assert!(
            first
                .as_mut()
                .poll(&mut Context::from_waker(&first_waker))
                .is_pending()
        );
        assert!(
            second
                .as_mut()
                .poll(&mut Context::from_waker(&second_waker))
                .is_pending()
        );
        writer.apply_watcher_event(&watcher::Event::InitDone);
        assert_eq!(second_wakes.0.load(Ordering::SeqCst), 1);
        assert_eq!(first_wakes.0.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn readiness_wakes_every_waiter() {
        let (tx, ready) = Readiness::channel();
        let mut waiters: Vec<_> = (0..3).map(|_| Box::pin(ready.wait())).collect();
        let wakers: Vec<_> = (0..3).map(|_| counting_waker()).collect();
        for (w, (_, waker)) in waiters.iter_mut().zip(&wakers) {
            assert!(
                w.as_mut()
                    .poll(&mut Context::from_waker(waker))
                    .is_pending()
            );
        }
        tx.send_replace(true);
        for (w, (wakes, waker)) in waiters.iter_mut().zip(&wakers) {
            assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
            assert!(matches!(
                w.as_mut().poll(&mut Context::from_waker(waker)),
                std::task::Poll::Ready(true)
            ));
        }
    }

    #[test]
    fn readiness_ends_false_when_the_watch_is_gone() {
        let (tx, ready) = Readiness::channel();
        drop(tx);
        let waker = counting_waker().1;
        let mut wait = Box::pin(ready.wait());
        assert!(matches!(
            wait.as_mut().poll(&mut Context::from_waker(&waker)),
            std::task::Poll::Ready(false)
        ));
    }
}
