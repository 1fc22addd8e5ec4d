//! Meta's phone-number lifecycle rules: add, request/verify code, register, deregister, PIN,
//! business profile. Pure functions over the state so they can be reasoned about without HTTP.

use serde_json::{Map, Value, json};

use super::display_name;
use super::graph_error::GraphError;
use super::state::{Number, PendingCode, SimSecret, State, digits_of, merge_fields};

/// Request parameters, merged from the query string and the JSON or form body.
pub type Params = Map<String, Value>;

pub const CODE_TTL_SECS: i64 = 600;
pub const REGISTRATION_WINDOW_SECS: i64 = 72 * 3600;
pub const REGISTRATION_LIMIT: usize = 10;

const PROFILE_FIELDS: &[&str] = &[
    "about",
    "address",
    "description",
    "email",
    "websites",
    "vertical",
    "profile_picture_handle",
];

const VERTICALS: &[&str] = &[
    "UNDEFINED",
    "OTHER",
    "AUTO",
    "BEAUTY",
    "APPAREL",
    "EDU",
    "ENTERTAIN",
    "EVENT_PLAN",
    "FINANCE",
    "GROCERY",
    "GOVT",
    "HOTEL",
    "HEALTH",
    "NONPROFIT",
    "PROF_SERVICES",
    "RETAIL",
    "TRAVEL",
    "RESTAURANT",
    "NOT_A_BIZ",
];

pub fn param(params: &Params, name: &str) -> Option<String> {
    match params.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn required(params: &Params, name: &str) -> Result<String, GraphError> {
    param(params, name)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| GraphError::missing_param(name))
}

fn in_use_on_app_error() -> GraphError {
    GraphError::new(100, "Invalid parameter")
        .details("This phone number is registered to an account on the WhatsApp app (Messenger or Business app). Delete that account, or move it to another number, before using the number with the Cloud API.")
        .user(
            "Phone number in use",
            "This phone number is already registered on WhatsApp. Delete the WhatsApp account on the phone to free it.",
        )
}

/// `POST /{waba-id}/phone_numbers`: adds an unverified number to the WABA.
pub fn add_number(
    state: &mut State,
    waba_id: &str,
    params: &Params,
    new_id: String,
) -> Result<Value, GraphError> {
    let cc = digits_of(&required(params, "cc")?);
    let local = digits_of(&required(params, "phone_number")?);
    let verified_name = required(params, "verified_name")?;
    if cc.is_empty() || local.is_empty() {
        return Err(GraphError::invalid_param(
            "Param phone_number must be a valid phone number",
        ));
    }
    let full = if local.starts_with(&cc) && local.len() > 10 {
        local.clone()
    } else {
        format!("{cc}{local}")
    };
    let national = &full[cc.len()..];

    let mut in_use_on_app = false;
    let own_business = state
        .waba(waba_id)
        .map(|w| w.owner_business_id.clone())
        .unwrap_or_default();
    let existing = state.wabas.iter().find_map(|w| {
        w.phone_numbers
            .iter()
            .find(|n| n.digits() == full)
            .map(|n| (w, n))
    });
    if let Some((waba, number)) = existing {
        if number.owned_by_other_business || waba.owner_business_id != own_business {
            return Err(owned_elsewhere());
        }
        let details = if waba.id == waba_id {
            "This phone number already exists in this WhatsApp Business Account."
        } else {
            "This phone number is already in another WhatsApp Business Account of this business. Migrate it instead of adding it."
        };
        return Err(GraphError::new(100, "Invalid parameter").details(details));
    }
    for outside in state
        .outside_numbers
        .iter()
        .filter(|o| digits_of(&o.phone_number) == full)
    {
        if outside.owned_by_other_business {
            return Err(owned_elsewhere());
        }
        in_use_on_app |= outside.in_use_on_app;
    }

    let mut number: Number = serde_json::from_value(json!({
        "id": new_id,
        "display_phone_number": display_format(&cc, national),
        "verified_name": verified_name,
        "status": "PENDING",
        "quality_rating": "UNKNOWN",
        "name_status": "PENDING_REVIEW",
        "code_verification_status": "NOT_VERIFIED",
        "platform_type": "NOT_APPLICABLE",
        "throughput": { "level": "NOT_APPLICABLE" },
        "account_mode": "LIVE",
    }))
    .map_err(|e| GraphError::raw(1, format!("An unknown error occurred: {e}")))?;
    let defaults = state.new_number_defaults.clone();
    merge_fields(&mut number, &defaults)
        .map_err(|e| GraphError::raw(1, format!("new_number_defaults are invalid: {e}")))?;
    number.in_use_on_app |= in_use_on_app;
    let waba = state
        .waba_mut(waba_id)
        .ok_or_else(|| GraphError::unsupported("POST", waba_id))?;
    waba.phone_numbers.push(number);
    Ok(json!({ "id": new_id }))
}

/// Meta shows numbers formatted for humans (`+1 555-078-3881`); only NANP numbers get the
/// grouping here, others keep `+cc national`.
fn display_format(cc: &str, national: &str) -> String {
    if cc == "1" && national.len() == 10 {
        format!(
            "+1 {}-{}-{}",
            &national[..3],
            &national[3..6],
            &national[6..]
        )
    } else {
        format!("+{cc} {national}")
    }
}

fn owned_elsewhere() -> GraphError {
    GraphError::new(100, "Invalid parameter").details(
        "This phone number is already in a WhatsApp Business Account owned by another business.",
    )
}

/// `POST /{phone-number-id}/request_code`.
pub fn request_code(
    number: &mut Number,
    params: &Params,
    now: i64,
    code: String,
) -> Result<Value, GraphError> {
    let method = required(params, "code_method")?.to_ascii_uppercase();
    if method != "SMS" && method != "VOICE" {
        return Err(GraphError::invalid_param(&format!(
            "Param code_method must be one of {{SMS, VOICE}} - got \"{method}\"."
        )));
    }
    let language = required(params, "language")?;
    if number.code_verification_status == "VERIFIED" {
        return Err(GraphError::new(136024, "Phone number already verified").details(
            "This phone number is already verified. Check code_verification_status before requesting a code.",
        ));
    }
    if number.in_use_on_app {
        return Err(in_use_on_app_error());
    }
    number.verification_code = Some(PendingCode {
        code: SimSecret::new(code),
        expires_at: now + CODE_TTL_SECS,
        code_method: method,
        language,
    });
    Ok(json!({ "success": true }))
}

/// `POST /{phone-number-id}/verify_code`.
pub fn verify_code(number: &mut Number, params: &Params, now: i64) -> Result<Value, GraphError> {
    let given = digits_of(&required(params, "code")?);
    let not_verified = |details: &str| {
        GraphError::new(136025, "Code couldn't be verified").details(details.to_owned())
    };
    let Some(pending) = number.verification_code.as_ref() else {
        return Err(not_verified(
            "No verification code was requested for this phone number. Request a code first.",
        ));
    };
    if now >= pending.expires_at {
        number.verification_code = None;
        return Err(not_verified(
            "The verification code has expired. Request a new code.",
        ));
    }
    if pending.code.expose() != given {
        return Err(not_verified("You entered an incorrect verification code."));
    }
    number.verification_code = None;
    number.code_verification_status = "VERIFIED".to_owned();
    Ok(json!({ "success": true }))
}

fn check_pin_format(pin: &str) -> Result<(), GraphError> {
    if pin.len() != 6 || !pin.chars().all(|c| c.is_ascii_digit()) {
        return Err(GraphError::invalid_param(
            "Param pin must be a 6-digit number.",
        ));
    }
    Ok(())
}

/// Spends one register/deregister attempt, or refuses with 133016 past 10 in 72 h.
fn spend_attempt(number: &mut Number, now: i64) -> Result<(), GraphError> {
    number
        .registration_attempts
        .retain(|&t| t > now - REGISTRATION_WINDOW_SECS);
    if number.registration_attempts.len() >= REGISTRATION_LIMIT {
        return Err(GraphError::new(133016, "Account register deregister rate limit exceeded").details(
            "Registration or Deregistration failed because there were too many attempts for this phone number in a short period of time",
        ));
    }
    number.registration_attempts.push(now);
    Ok(())
}

fn check_messaging_product(params: &Params) -> Result<(), GraphError> {
    let product = required(params, "messaging_product")?;
    if product != "whatsapp" {
        return Err(GraphError::invalid_param(&format!(
            "Param messaging_product must be one of {{WHATSAPP}} - got \"{product}\"."
        )));
    }
    Ok(())
}

/// `POST /{phone-number-id}/register`.
pub fn register(number: &mut Number, params: &Params, now: i64) -> Result<Value, GraphError> {
    check_messaging_product(params)?;
    let pin = required(params, "pin")?;
    check_pin_format(&pin)?;
    spend_attempt(number, now)?;
    if number.in_use_on_app {
        return Err(in_use_on_app_error());
    }
    if number.status == "PENDING" && number.code_verification_status != "VERIFIED" {
        return Err(GraphError::new(
            133006,
            "Phone number needs to be verified before registering",
        )
        .details(
            "Verify the phone number with request_code and verify_code before registering it.",
        ));
    }
    if !number.name_is_ready() {
        return Err(GraphError::new(100, "Invalid parameter")
            .subcode(2388001)
            .details("The display name of this phone number has not been provisioned yet.")
            .user(
                "Cannot Create Certificate",
                "A certificate could not be created for this phone number because its display name is not ready. Try again later.",
            ));
    }
    if number.is_pin_enabled
        && let Some(existing) = &number.pin
        && existing.expose() != pin
    {
        return Err(
            GraphError::new(133005, "Two step verification PIN Mismatch")
                .details("Two step verification PIN incorrect. Verify the PIN and try again."),
        );
    }
    number.pin = Some(SimSecret::new(pin));
    number.is_pin_enabled = true;
    display_name::apply_on_register(number);
    number.status = "CONNECTED".to_owned();
    number.platform_type = "CLOUD_API".to_owned();
    if number.throughput.level == "NOT_APPLICABLE" {
        number.throughput.level = "STANDARD".to_owned();
    }
    if number.last_onboarded_time.is_none() {
        number.last_onboarded_time = Some(
            jiff::Timestamp::from_second(now)
                .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%z").to_string())
                .unwrap_or_default(),
        );
    }
    Ok(json!({ "success": true }))
}

/// `POST /{phone-number-id}/deregister`.
pub fn deregister(number: &mut Number, now: i64) -> Result<Value, GraphError> {
    spend_attempt(number, now)?;
    number.status = "DISCONNECTED".to_owned();
    number.platform_type = "NOT_APPLICABLE".to_owned();
    number.throughput.level = "NOT_APPLICABLE".to_owned();
    Ok(json!({ "success": true }))
}

/// `POST /{phone-number-id}`: PIN, display-name change, webhook override, search visibility.
pub fn update_number(number: &mut Number, params: &Params, now: i64) -> Result<Value, GraphError> {
    let mut touched = false;
    if let Some(pin) = param(params, "pin") {
        check_pin_format(&pin)?;
        number.pin = Some(SimSecret::new(pin));
        number.is_pin_enabled = true;
        touched = true;
    }
    if let Some(name) = param(params, "new_display_name") {
        display_name::request(number, name, now);
        touched = true;
    }
    if let Some(config) = params.get("webhook_configuration") {
        let uri = config
            .get("override_callback_uri")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if uri.is_empty() {
            number.extra.remove("webhook_configuration");
        } else {
            number.extra.insert(
                "webhook_configuration".into(),
                json!({ "phone_number": uri }),
            );
        }
        touched = true;
    }
    if let Some(visibility) = param(params, "search_visibility") {
        number
            .extra
            .insert("search_visibility".into(), json!(visibility));
        touched = true;
    }
    if !touched {
        return Err(GraphError::invalid_param("No valid parameter was provided"));
    }
    Ok(json!({ "success": true }))
}

/// `GET /{phone-number-id}/whatsapp_business_profile`: Meta's one-element `data` list.
pub fn business_profile(number: &Number, fields: Option<&[String]>) -> Value {
    let mut profile = Map::new();
    for (key, value) in &number.business_profile {
        if fields.is_none_or(|f| f.iter().any(|x| x == key)) {
            profile.insert(key.clone(), value.clone());
        }
    }
    profile.insert("messaging_product".into(), json!("whatsapp"));
    json!({ "data": [profile] })
}

/// `POST /{phone-number-id}/whatsapp_business_profile`: merges the given fields.
pub fn update_business_profile(number: &mut Number, params: &Params) -> Result<Value, GraphError> {
    check_messaging_product(params)?;
    let limits = [
        ("about", 139),
        ("address", 256),
        ("description", 512),
        ("email", 128),
    ];
    for (key, max) in limits {
        if let Some(text) = param(params, key)
            && text.chars().count() > max
        {
            return Err(GraphError::invalid_param(&format!(
                "Param {key} must be at most {max} characters long."
            )));
        }
    }
    if let Some(websites) = params.get("websites") {
        let ok = websites.as_array().is_some_and(|w| {
            w.len() <= 2 && w.iter().all(|s| s.as_str().is_some_and(|s| s.len() <= 256))
        });
        if !ok {
            return Err(GraphError::invalid_param(
                "Param websites must be a list of at most 2 URLs of up to 256 characters.",
            ));
        }
    }
    if let Some(vertical) = param(params, "vertical")
        && !VERTICALS.contains(&vertical.as_str())
    {
        return Err(GraphError::invalid_param(&format!(
            "Param vertical is not valid: {vertical}"
        )));
    }
    for key in PROFILE_FIELDS {
        if let Some(value) = params.get(*key) {
            if *key == "profile_picture_handle" {
                number.business_profile.insert(
                    "profile_picture_url".into(),
                    json!(format!("https://pps.whatsapp.net/sim/{}", number.id)),
                );
            } else {
                number
                    .business_profile
                    .insert((*key).to_owned(), value.clone());
            }
        }
    }
    Ok(json!({ "success": true }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number() -> Number {
        serde_json::from_value(json!({"id": "1", "display_phone_number": "+1 555-000-0001"}))
            .unwrap()
    }

    fn params(v: Value) -> Params {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn register_window_is_shared_with_deregister() {
        let mut n = number();
        n.code_verification_status = "VERIFIED".into();
        let reg = params(json!({"messaging_product": "whatsapp", "pin": "123456"}));
        for i in 0..5 {
            register(&mut n, &reg, 100 + i).unwrap();
            deregister(&mut n, 100 + i).unwrap();
        }
        assert_eq!(register(&mut n, &reg, 200).unwrap_err().code, 133016);
        assert!(register(&mut n, &reg, 100 + REGISTRATION_WINDOW_SECS).is_ok());
    }

    #[test]
    fn pin_mismatch_only_when_two_step_is_enabled() {
        let mut n = number();
        n.status = "DISCONNECTED".into();
        let reg = |pin: &str| params(json!({"messaging_product": "whatsapp", "pin": pin}));
        register(&mut n, &reg("111111"), 0).unwrap();
        assert_eq!(
            register(&mut n, &reg("222222"), 1).unwrap_err().code,
            133005
        );
        assert_eq!(n.pin.as_ref().unwrap().expose(), "111111");
    }

    #[test]
    fn pin_is_redacted_in_debug() {
        let mut n = number();
        n.pin = Some(SimSecret::new("987654"));
        assert!(!format!("{n:?}").contains("987654"));
    }
}
