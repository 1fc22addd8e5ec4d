//! Business profile drift: which fields of the spec Meta does not have.

use crate::crd::BusinessProfile;
use crate::meta::profile::{BusinessProfileData, Vertical};

/// The spec's fields whose value differs at Meta, as an update; `None` when nothing drifted.
/// Fields the spec leaves out are never part of it.
pub fn profile_drift(
    spec: &BusinessProfile,
    meta: &BusinessProfileData,
) -> Option<BusinessProfileData> {
    fn differs<T: PartialEq + Clone>(want: &Option<T>, have: &Option<T>) -> Option<T> {
        want.as_ref().filter(|w| have.as_ref() != Some(*w)).cloned()
    }
    let update = BusinessProfileData {
        about: differs(&spec.about, &meta.about),
        address: differs(&spec.address, &meta.address),
        description: differs(&spec.description, &meta.description),
        email: differs(&spec.email, &meta.email),
        websites: differs(&spec.websites, &meta.websites),
        vertical: spec
            .vertical
            .map(|v| Vertical::parse(v.as_str()))
            .filter(|v| meta.vertical.as_ref() != Some(v)),
        ..Default::default()
    };
    (update != BusinessProfileData::default()).then_some(update)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::Vertical as SpecVertical;

    #[test]
    fn only_spec_fields_that_differ_are_sent() {
        let spec = BusinessProfile {
            about: Some("Hello".into()),
            email: Some("a@b.example".into()),
            vertical: Some(SpecVertical::Retail),
            ..Default::default()
        };
        let meta = BusinessProfileData {
            about: Some("Hello".into()),
            email: Some("old@b.example".into()),
            address: Some("Somewhere".into()),
            vertical: Some(Vertical::Hotel),
            ..Default::default()
        };
        let update = profile_drift(&spec, &meta).unwrap();
        assert_eq!(update.about, None);
        assert_eq!(update.email.as_deref(), Some("a@b.example"));
        assert_eq!(
            update.address, None,
            "fields absent from spec are left alone"
        );
        assert_eq!(update.vertical, Some(Vertical::Retail));

        let in_sync = BusinessProfileData {
            email: Some("a@b.example".into()),
            vertical: Some(Vertical::Retail),
            ..meta
        };
        assert_eq!(profile_drift(&spec, &in_sync), None);
    }
}
