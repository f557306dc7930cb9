//! Properties → who the phone is: maker, model, marketing name, OS family (HyperOS, MIUI
//! or plain Android) and version, and the region of the firmware (FACTS.md §4). Pure.

use super::props::{Props, first};

/// The OS family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OsFamily {
    Hyperos,
    Miui,
    Android,
}

impl std::fmt::Display for OsFamily {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OsFamily::Hyperos => "HyperOS",
            OsFamily::Miui => "MIUI",
            OsFamily::Android => "Android",
        })
    }
}

/// The OS as the JSON reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OsInfo {
    pub family: OsFamily,
    /// Xiaomi's version: `OS2.0.3.0.VNCEUXM` (HyperOS), `V14.0.10.0.TGEEUXM` (MIUI), or
    /// the short name (`OS2.0`, `V140`) when the build number is missing; the Android
    /// build id on other phones.
    pub version: Option<String>,
    /// `ro.build.version.release` (`14`).
    pub android: Option<String>,
    /// `ro.build.version.sdk` (`34`).
    pub sdk: Option<u32>,
}

/// Who the phone is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Identity {
    pub manufacturer: Option<String>,
    pub brand: Option<String>,
    pub model: Option<String>,
    pub marketname: Option<String>,
    /// `ro.serialno`: the hardware serial (may differ from adb's serial over TCP).
    pub hardware_serial: Option<String>,
    pub os: OsInfo,
    /// `global`, `eea`, `cn`, `in`, `ru`, `id`, `tw`, `tr`, `jp`, … or a lower-case
    /// country code; `None` when nothing says.
    pub region: Option<String>,
    pub is_xiaomi: bool,
}

fn owned(v: Option<&str>) -> Option<String> {
    v.map(str::to_string)
}

/// Where a phone keeps its own serial number, most trusted first (FACTS.md §4).
pub const SERIAL_PROPS: [&str; 3] = ["ro.serialno", "ro.boot.serialno", "ril.serialnumber"];

/// Whether S names one phone: placeholder serials some builds report (empty, all zeros,
/// "unknown", the clone-phone "0123456789ABCDEF") say nothing about which phone this is.
/// The one rule for the backup manifest, the journal and the reset interlock.
pub fn usable_serial(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_graphic())
        && !s.bytes().all(|b| b == b'0')
        && !s.eq_ignore_ascii_case("unknown")
        && !s.eq_ignore_ascii_case("0123456789abcdef")
}

/// Reads the identity from PROPS.
pub fn identity(props: &Props) -> Identity {
    let manufacturer = owned(first(
        props,
        &[
            "ro.product.manufacturer",
            "ro.product.vendor.manufacturer",
            "ro.product.system.manufacturer",
        ],
    ));
    let brand = owned(first(
        props,
        &[
            "ro.product.brand",
            "ro.product.vendor.brand",
            "ro.product.system.brand",
        ],
    ));
    let model = owned(first(
        props,
        &[
            "ro.product.model",
            "ro.product.vendor.model",
            "ro.product.system.model",
        ],
    ));
    let marketname = owned(first(
        props,
        &[
            "ro.product.marketname",
            "ro.product.vendor.marketname",
            "ro.product.odm.marketname",
        ],
    ))
    .or_else(|| model.clone());
    let os = os_info(props);
    let is_xiaomi = os.family != OsFamily::Android
        || [&manufacturer, &brand]
            .into_iter()
            .flatten()
            .any(|v| matches!(v.to_ascii_lowercase().as_str(), "xiaomi" | "redmi" | "poco"));
    Identity {
        manufacturer,
        brand,
        model,
        marketname,
        hardware_serial: SERIAL_PROPS
            .iter()
            .filter_map(|k| props.get(*k))
            .map(|v| v.trim())
            .find(|v| usable_serial(v))
            .map(str::to_string),
        region: if is_xiaomi { region(props) } else { None },
        os,
        is_xiaomi,
    }
}

/// HyperOS keeps the `ro.miui.*` keys, so `ro.mi.os.*` is tested first.
pub fn os_info(props: &Props) -> OsInfo {
    let android = owned(first(
        props,
        &[
            "ro.build.version.release",
            "ro.system.build.version.release",
        ],
    ));
    let sdk = first(
        props,
        &["ro.build.version.sdk", "ro.system.build.version.sdk"],
    )
    .and_then(|s| s.parse().ok());
    let incremental = first(props, &["ro.build.version.incremental"]);
    if let Some(name) = first(props, &["ro.mi.os.version.name"]) {
        let version = first(props, &["ro.mi.os.version.incremental"])
            .or(incremental.filter(|v| v.starts_with("OS")))
            .unwrap_or(name);
        return OsInfo {
            family: OsFamily::Hyperos,
            version: Some(version.to_string()),
            android,
            sdk,
        };
    }
    if let Some(name) = first(props, &["ro.miui.ui.version.name"]) {
        let version = incremental.filter(|v| v.starts_with('V')).unwrap_or(name);
        return OsInfo {
            family: OsFamily::Miui,
            version: Some(version.to_string()),
            android,
            sdk,
        };
    }
    OsInfo {
        family: OsFamily::Android,
        version: owned(first(props, &["ro.build.id", "ro.build.display.id"])),
        android,
        sdk,
    }
}

/// Regions whose two-letter build code differs from their name.
fn region_from_code(code: &str) -> Option<String> {
    let c = code.to_ascii_lowercase();
    Some(match c.as_str() {
        "" => return None,
        "mi" | "global" | "gl" => "global".into(),
        "eu" | "eea" => "eea".into(),
        // EEA countries as `ro.miui.region` names them.
        "de" | "fr" | "it" | "es" | "nl" | "pl" | "pt" | "at" | "be" | "cz" | "dk" | "fi"
        | "gr" | "hu" | "ie" | "ro" | "se" | "sk" | "si" | "bg" | "hr" | "lt" | "lv" | "ee"
        | "lu" | "cy" | "mt" | "no" | "is" | "li" => "eea".into(),
        _ => c,
    })
}

/// The firmware's region (FACTS.md §4): `ro.product.mod_device` (`_global`,
/// `_eea_global`, `_in_global`…), else `ro.miui.region`, else the build suffix letters
/// before the final `XM` (`…TGEEUXM` → EU), else `ro.product.locale.region`.
pub fn region(props: &Props) -> Option<String> {
    if let Some(md) = first(props, &["ro.product.mod_device"]) {
        if let Some(stem) = md.strip_suffix("_global") {
            let tag = stem.rsplit('_').next().unwrap_or("");
            // `alioth_global` names no region before `_global`; `alioth_eea_global` does.
            return Some(match tag {
                "eea" | "in" | "ru" | "id" | "tw" | "tr" | "jp" | "kr" | "mx" | "lm" => {
                    region_from_code(tag).unwrap_or_else(|| "global".into())
                }
                _ if stem.contains('_') && tag.len() == 2 => tag.to_string(),
                _ => "global".into(),
            });
        }
    }
    if let Some(r) = first(props, &["ro.miui.region"]).and_then(region_from_code) {
        return Some(r);
    }
    let build = first(
        props,
        &[
            "ro.mi.os.version.incremental",
            "ro.build.version.incremental",
        ],
    );
    if let Some(code) = build.and_then(build_region_code) {
        return region_from_code(code);
    }
    first(props, &["ro.product.locale.region"]).and_then(region_from_code)
}

/// `V14.0.10.0.TGEEUXM` → `EU`; `OS1.0.5.0.UMCCNXM` → `CN`.
fn build_region_code(build: &str) -> Option<&str> {
    let suffix = build.rsplit('.').next()?;
    let letters = suffix.strip_suffix("XM")?;
    if !(letters.len() == 5 && letters.bytes().all(|b| b.is_ascii_uppercase())) {
        return None;
    }
    letters.get(3..5)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::miui::props::parse_getprop;

    const HYPEROS2_EEA: &str = "[ro.product.manufacturer]: [Xiaomi]\r\n[ro.product.brand]: [Xiaomi]\r\n\
[ro.product.model]: [23127PN0CG]\r\n[ro.product.marketname]: [Xiaomi 14]\r\n\
[ro.mi.os.version.name]: [OS2.0]\r\n[ro.mi.os.version.code]: [2]\r\n\
[ro.mi.os.version.incremental]: [OS2.0.3.0.VNCEUXM]\r\n[ro.miui.ui.version.name]: [V816]\r\n\
[ro.build.version.release]: [15]\r\n[ro.build.version.sdk]: [35]\r\n\
[ro.product.mod_device]: [houji_eea_global]\r\n[ro.serialno]: [a1b2c3d4]\r\n";

    const MIUI14_GLOBAL: &str = "[ro.product.manufacturer]: [Xiaomi]\n[ro.product.brand]: [Redmi]\n\
[ro.product.model]: [22101316G]\n[ro.product.vendor.marketname]: [Redmi Note 12 Pro]\n\
[ro.miui.ui.version.name]: [V140]\n[ro.miui.ui.version.code]: [14]\n\
[ro.build.version.incremental]: [V14.0.10.0.TMOMIXM]\n[ro.build.version.release]: [13]\n\
[ro.build.version.sdk]: [33]\n[ro.product.mod_device]: [ruby_global]\n";

    const HYPEROS1_CN: &str = "[ro.product.manufacturer]: [Xiaomi]\n[ro.product.brand]: [Xiaomi]\n\
[ro.product.model]: [2211133C]\n[ro.mi.os.version.name]: [OS1.0]\n\
[ro.build.version.incremental]: [OS1.0.5.0.UMCCNXM]\n[ro.product.mod_device]: [fuxi]\n\
[ro.build.version.release]: [14]\n[ro.build.version.sdk]: [34]\n[ro.miui.region]: [CN]\n";

    const PIXEL: &str = "[ro.product.manufacturer]: [Google]\n[ro.product.brand]: [google]\n\
[ro.product.model]: [Pixel 7]\n[ro.build.id]: [UQ1A.240205.002]\n\
[ro.build.version.release]: [14]\n[ro.build.version.sdk]: [34]\n[ro.product.locale.region]: [US]\n";

    #[test]
    fn hyperos_is_recognised_before_its_miui_keys() {
        let id = identity(&parse_getprop(HYPEROS2_EEA));
        assert_eq!(id.os.family, OsFamily::Hyperos);
        assert_eq!(id.os.version.as_deref(), Some("OS2.0.3.0.VNCEUXM"));
        assert_eq!(id.os.sdk, Some(35));
        assert_eq!(id.region.as_deref(), Some("eea"));
        assert_eq!(id.marketname.as_deref(), Some("Xiaomi 14"));
        assert_eq!(id.hardware_serial.as_deref(), Some("a1b2c3d4"));
        assert!(id.is_xiaomi);
    }

    #[test]
    fn miui_global_and_hyperos_china() {
        let id = identity(&parse_getprop(MIUI14_GLOBAL));
        assert_eq!(id.os.family, OsFamily::Miui);
        assert_eq!(id.os.version.as_deref(), Some("V14.0.10.0.TMOMIXM"));
        assert_eq!(id.region.as_deref(), Some("global"));
        assert_eq!(id.marketname.as_deref(), Some("Redmi Note 12 Pro"));
        let id = identity(&parse_getprop(HYPEROS1_CN));
        assert_eq!(id.os.family, OsFamily::Hyperos);
        assert_eq!(id.os.version.as_deref(), Some("OS1.0.5.0.UMCCNXM"));
        assert_eq!(id.region.as_deref(), Some("cn"));
        assert_eq!(id.marketname.as_deref(), Some("2211133C"));
    }

    #[test]
    fn a_pixel_is_not_a_xiaomi() {
        let id = identity(&parse_getprop(PIXEL));
        assert!(!id.is_xiaomi);
        assert_eq!(id.os.family, OsFamily::Android);
        assert_eq!(id.os.version.as_deref(), Some("UQ1A.240205.002"));
        assert_eq!(id.region, None);
    }

    #[test]
    fn region_signals_in_order() {
        let p = |s: &str| parse_getprop(s);
        assert_eq!(
            region(&p("[ro.product.mod_device]: [alioth_in_global]\n")).as_deref(),
            Some("in")
        );
        assert_eq!(
            region(&p("[ro.product.mod_device]: [alioth_ru_global]\n")).as_deref(),
            Some("ru")
        );
        assert_eq!(
            region(&p("[ro.miui.region]: [DE]\n")).as_deref(),
            Some("eea")
        );
        assert_eq!(
            region(&p("[ro.build.version.incremental]: [V14.0.4.0.TKHIDXM]\n")).as_deref(),
            Some("id")
        );
        assert_eq!(
            region(&p("[ro.build.version.incremental]: [eng.build]\n")),
            None
        );
        assert_eq!(
            region(&p("[ro.product.locale.region]: [TW]\n")).as_deref(),
            Some("tw")
        );
        assert_eq!(region(&p("")), None);
    }

    #[test]
    fn missing_keys_give_nones_not_panics() {
        let id = identity(&parse_getprop(
            "[ro.miui.ui.version.name]: [V125]\n[ro.build.version.sdk]: [x]\n",
        ));
        assert_eq!(id.os.family, OsFamily::Miui);
        assert_eq!(id.os.version.as_deref(), Some("V125"));
        assert_eq!(id.os.sdk, None);
        assert_eq!(id.model, None);
        assert!(id.is_xiaomi);
    }
}
