//! Phone profiles as data: identity variables, the `getprop` templates every phone of a
//! family shares, the accounts a profile starts with, and its package list. A profile
//! adds no code path: the shell and the phone read these tables. Serial, IMEI and
//! account ids are not here: they are derived from the phone's seed ([`Identity`]), so
//! several phones of one profile differ.
//!
//! This module must not know about the shell, the file tree or the transport.

use std::collections::BTreeMap;

use super::screens::OsFlavour;
use super::world::Lang;

/// The Mi account a profile starts signed in with (registered in the shared registry).
#[derive(Debug, Clone, Copy)]
pub struct DemoAccount {
    /// The first 7 digits of the numeric user id; 3 more come from the seed.
    pub user_id_prefix: &'static str,
    /// Demo password (documented in docs/simulator.md).
    pub password: &'static str,
    /// Country calling code used for the account's phone number.
    pub phone_prefix: &'static str,
}

/// One phone profile.
#[derive(Debug)]
pub struct Profile {
    pub name: &'static str,
    pub summary: &'static str,
    /// A Xiaomi phone: MIUI/HyperOS props, the Mi account, dual-apps user 999.
    pub xiaomi: bool,
    pub lang: Lang,
    /// Which firmware family the Settings screens imitate.
    pub os: OsFlavour,
    /// ISO country of the phone (what the registry records for a bound device).
    pub country: &'static str,
    /// Type allocation code: the first 8 digits of the IMEI (the model's).
    pub tac: &'static str,
    pub mi_account: Option<DemoAccount>,
    /// Signed in with a Google account (its name comes from the seed).
    pub google_account: bool,
    /// A PIN is set (with a Google account it arms FRP).
    pub screen_lock: bool,
    /// `persist.security.adbinput` at start.
    pub adb_input: bool,
    /// `dumpsys account` masks Mi account names on this build.
    pub mask_account_names: bool,
    /// Xiaomi's dual-apps user 999 lists the Mi account too (a tool must look there).
    pub dual_apps_mi: bool,
    /// Expose the IMEI as `ro.ril.oem.imei`/`ro.ril.miui.imei0` (some Xiaomi builds do).
    pub imei_props: bool,
    /// `service call iphonesubinfo 1` answers with the IMEI (else a SecurityException
    /// parcel, as stock Android 10+ gives the shell user).
    pub iphonesubinfo_imei: bool,
    /// User-data partition size in GB (for `df`).
    pub storage_gb: u64,
    /// `uname -a`.
    pub uname: &'static str,
    /// Values the templates substitute (`{name}`).
    pub vars: &'static [(&'static str, &'static str)],
    /// Template groups this profile takes, in order; later keys override earlier ones.
    pub templates: &'static [&'static [(&'static str, &'static str)]],
    /// Profile-only props (override the templates).
    pub props: &'static [(&'static str, &'static str)],
    /// Installed packages: (name, versionCode, third-party).
    pub packages: &'static [(&'static str, u64, bool)],
}

/// Identity derived from a profile and a seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub serial: String,
    pub imei: String,
    pub android_id: String,
    pub mi_user_id: Option<String>,
    pub mi_email: Option<String>,
    pub mi_phone: Option<String>,
    pub google_account: Option<String>,
}

/// Deterministic 64-bit mixer (splitmix64): stable across platforms and releases.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A stable hash of a string (FNV-1a), to derive per-profile and per-path seeds.
pub fn hash_str(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Appends the Luhn check digit to 14 digits.
fn luhn_complete(body: &str) -> String {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

impl Profile {
    pub fn identity(&self, seed: u64) -> Identity {
        let h = mix(seed ^ hash_str(self.name));
        let serial = if self.xiaomi {
            // Xiaomi serials are 8 lowercase hex digits.
            format!("{:08x}", h & 0xffff_ffff)
        } else {
            // Pixel serials: 14 upper-case alphanumerics.
            const ALNUM: &[u8] = b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
            let mut x = h;
            (0..14)
                .map(|_| {
                    let c = ALNUM[(x % ALNUM.len() as u64) as usize] as char;
                    x = mix(x);
                    c
                })
                .collect()
        };
        let imei = luhn_complete(&format!("{}{:06}", self.tac, mix(h) % 1_000_000));
        let android_id = format!("{:016x}", mix(h ^ 0xa11d));
        let mi_user_id = self
            .mi_account
            .map(|a| format!("{}{:03}", a.user_id_prefix, seed % 1000));
        let mi_email = self
            .mi_account
            .map(|_| format!("{}-{seed}@example.com", self.name));
        let mi_phone = self
            .mi_account
            .map(|a| format!("{}{:08}", a.phone_prefix, mix(h ^ 7) % 100_000_000));
        let google_account = self
            .google_account
            .then(|| format!("owner.{:04}@gmail.com", seed % 10_000));
        Identity {
            serial,
            imei,
            android_id,
            mi_user_id,
            mi_email,
            mi_phone,
            google_account,
        }
    }

    fn var(&self, key: &str) -> Option<&'static str> {
        self.vars.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    /// The full `getprop` set for this identity.
    pub fn props(&self, id: &Identity, adb_input: bool) -> BTreeMap<String, String> {
        let computed = |key: &str| -> Option<String> {
            Some(match key {
                "serial" => id.serial.clone(),
                "imei" => id.imei.clone(),
                "adbinput" => if adb_input { "1" } else { "0" }.to_string(),
                _ => return None,
            })
        };
        let expand = |template: &str| -> String {
            let mut out = String::new();
            let mut rest = template;
            while let Some(start) = rest.find('{') {
                out.push_str(&rest[..start]);
                let after = &rest[start + 1..];
                match after.find('}') {
                    Some(end) => {
                        let key = &after[..end];
                        match computed(key).or_else(|| self.var(key).map(str::to_string)) {
                            Some(v) => out.push_str(&v),
                            None => out.push_str(&rest[start..start + end + 2]),
                        }
                        rest = &after[end + 1..];
                    }
                    None => {
                        out.push_str(&rest[start..]);
                        rest = "";
                    }
                }
            }
            out.push_str(rest);
            out
        };
        let mut props = BTreeMap::new();
        for group in self.templates {
            for (k, v) in group.iter() {
                props.insert(expand(k), expand(v));
            }
        }
        for (k, v) in self.props {
            props.insert(expand(k), expand(v));
        }
        props
    }
}

/// Keys every Android 12+ phone has.
const AOSP: &[(&str, &str)] = &[
    ("dalvik.vm.appimageformat", "lz4"),
    ("dalvik.vm.dex2oat-Xms", "64m"),
    ("dalvik.vm.dex2oat-Xmx", "512m"),
    ("dalvik.vm.heapgrowthlimit", "256m"),
    ("dalvik.vm.heapmaxfree", "16m"),
    ("dalvik.vm.heapminfree", "8m"),
    ("dalvik.vm.heapsize", "512m"),
    ("dalvik.vm.heapstartsize", "8m"),
    ("dalvik.vm.isa.arm.variant", "cortex-a9"),
    ("dalvik.vm.isa.arm64.variant", "{cpu_variant}"),
    ("dalvik.vm.usejit", "true"),
    ("gsm.current.phone-type", "1,1"),
    ("gsm.network.type", "LTE,Unknown"),
    ("gsm.nitz.time", "1718180000000"),
    ("gsm.operator.alpha", "{operator}"),
    ("gsm.operator.iso-country", "{iso}"),
    ("gsm.operator.isroaming", "false,false"),
    ("gsm.operator.numeric", "{mccmnc}"),
    ("gsm.sim.operator.alpha", "{operator}"),
    ("gsm.sim.operator.iso-country", "{iso}"),
    ("gsm.sim.operator.numeric", "{mccmnc}"),
    ("gsm.sim.state", "LOADED,ABSENT"),
    ("gsm.version.baseband", "{baseband}"),
    ("gsm.version.ril-impl", "{ril_impl}"),
    ("init.svc.adbd", "running"),
    ("init.svc.surfaceflinger", "running"),
    ("init.svc.zygote", "running"),
    ("init.svc.zygote_secondary", "running"),
    ("net.bt.name", "Android"),
    ("persist.radio.multisim.config", "dsds"),
    ("persist.sys.dalvik.vm.lib.2", "libart.so"),
    ("persist.sys.locale", "{locale}"),
    ("persist.sys.timezone", "{timezone}"),
    ("persist.sys.usb.config", "mtp,adb"),
    ("ro.adb.secure", "1"),
    ("ro.allow.mock.location", "0"),
    ("ro.baseband", "msm"),
    ("ro.board.platform", "{platform}"),
    ("ro.boot.flash.locked", "1"),
    ("ro.boot.hardware", "{hardware}"),
    ("ro.boot.serialno", "{serial}"),
    ("ro.boot.slot_suffix", "_a"),
    ("ro.boot.vbmeta.device_state", "locked"),
    ("ro.boot.verifiedbootstate", "green"),
    ("ro.bootimage.build.date", "{build_date}"),
    ("ro.bootimage.build.date.utc", "{build_utc}"),
    ("ro.bootimage.build.fingerprint", "{fingerprint}"),
    ("ro.build.ab_update", "true"),
    ("ro.build.characteristics", "{characteristics}"),
    ("ro.build.date", "{build_date}"),
    ("ro.build.date.utc", "{build_utc}"),
    (
        "ro.build.description",
        "{name}-user {release} {build_id} {incremental} release-keys",
    ),
    ("ro.build.display.id", "{display_id}"),
    ("ro.build.fingerprint", "{fingerprint}"),
    ("ro.build.flavor", "{name}-user"),
    ("ro.build.host", "{build_host}"),
    ("ro.build.id", "{build_id}"),
    ("ro.build.product", "{device}"),
    ("ro.build.tags", "release-keys"),
    ("ro.build.type", "user"),
    ("ro.build.user", "{build_user}"),
    ("ro.build.version.all_codenames", "REL"),
    ("ro.build.version.codename", "REL"),
    ("ro.build.version.incremental", "{incremental}"),
    ("ro.build.version.min_supported_target_sdk", "23"),
    ("ro.build.version.preview_sdk", "0"),
    ("ro.build.version.release", "{release}"),
    ("ro.build.version.release_or_codename", "{release}"),
    ("ro.build.version.sdk", "{sdk}"),
    ("ro.build.version.security_patch", "{security_patch}"),
    ("ro.carrier", "unknown"),
    ("ro.com.google.clientidbase", "{clientidbase}"),
    ("ro.crypto.state", "encrypted"),
    ("ro.crypto.type", "file"),
    ("ro.debuggable", "0"),
    ("ro.hardware", "{hardware}"),
    ("ro.hardware.egl", "{egl}"),
    ("ro.odm.build.fingerprint", "{fingerprint}"),
    ("ro.opengles.version", "196610"),
    ("ro.product.board", "{board}"),
    ("ro.product.brand", "{brand}"),
    ("ro.product.cpu.abi", "arm64-v8a"),
    ("ro.product.cpu.abilist", "arm64-v8a,armeabi-v7a,armeabi"),
    ("ro.product.cpu.abilist32", "armeabi-v7a,armeabi"),
    ("ro.product.cpu.abilist64", "arm64-v8a"),
    ("ro.product.device", "{device}"),
    ("ro.product.first_api_level", "{first_api}"),
    ("ro.product.locale", "{locale}"),
    ("ro.product.locale.region", "{region}"),
    ("ro.product.manufacturer", "{manufacturer}"),
    ("ro.product.model", "{model}"),
    ("ro.product.name", "{name}"),
    ("ro.product.odm.brand", "{brand}"),
    ("ro.product.odm.device", "{device}"),
    ("ro.product.odm.manufacturer", "{manufacturer}"),
    ("ro.product.odm.model", "{model}"),
    ("ro.product.odm.name", "{name}"),
    ("ro.product.product.brand", "{brand}"),
    ("ro.product.product.device", "{device}"),
    ("ro.product.product.manufacturer", "{manufacturer}"),
    ("ro.product.product.model", "{model}"),
    ("ro.product.product.name", "{name}"),
    ("ro.product.system.brand", "{brand}"),
    ("ro.product.system.device", "{device}"),
    ("ro.product.system.manufacturer", "{manufacturer}"),
    ("ro.product.system.model", "{model}"),
    ("ro.product.system.name", "{name}"),
    ("ro.product.system_ext.brand", "{brand}"),
    ("ro.product.system_ext.device", "{device}"),
    ("ro.product.system_ext.manufacturer", "{manufacturer}"),
    ("ro.product.system_ext.model", "{model}"),
    ("ro.product.system_ext.name", "{name}"),
    ("ro.product.vendor.brand", "{brand}"),
    ("ro.product.vendor.device", "{device}"),
    ("ro.product.vendor.manufacturer", "{manufacturer}"),
    ("ro.product.vendor.model", "{model}"),
    ("ro.product.vendor.name", "{name}"),
    ("ro.revision", "0"),
    ("ro.secure", "1"),
    ("ro.serialno", "{serial}"),
    ("ro.setupwizard.mode", "OPTIONAL"),
    ("ro.sf.lcd_density", "{density}"),
    ("ro.system.build.date.utc", "{build_utc}"),
    ("ro.system.build.fingerprint", "{fingerprint}"),
    ("ro.system.build.version.incremental", "{incremental}"),
    ("ro.system.build.version.release", "{release}"),
    ("ro.system.build.version.sdk", "{sdk}"),
    ("ro.treble.enabled", "true"),
    ("ro.vendor.build.date.utc", "{build_utc}"),
    ("ro.vendor.build.fingerprint", "{fingerprint}"),
    ("ro.vendor.build.security_patch", "{security_patch}"),
    ("ro.vndk.version", "{sdk}"),
    ("ro.zygote", "zygote64_32"),
    ("security.perf_harden", "1"),
    ("service.sf.present_timestamp", "1"),
    ("sys.boot_completed", "1"),
    ("sys.usb.config", "mtp,adb"),
    ("sys.usb.configfs", "1"),
    ("sys.usb.controller", "{usb_controller}"),
    ("sys.usb.ffs.ready", "1"),
    ("sys.usb.state", "mtp,adb"),
    ("vold.has_adoptable", "0"),
    ("wifi.interface", "wlan0"),
];

/// Keys MIUI and HyperOS both set.
const MIUI: &[(&str, &str)] = &[
    ("persist.security.adbinput", "{adbinput}"),
    ("persist.sys.device_name", "{marketname}"),
    ("persist.sys.miui_optimization", "true"),
    ("ril.serialnumber", "{serial}"),
    ("ro.boot.hwc", "{hwc}"),
    ("ro.boot.hwlevel", "MP"),
    ("ro.boot.hwversion", "{hwversion}"),
    ("ro.boot.product.hardware.sku", "{device}"),
    ("ro.com.miui.rsa.feature", "1"),
    ("ro.fota.oem", "Xiaomi"),
    ("ro.mi.development", "false"),
    ("ro.miui.build.region", "{build_region}"),
    ("ro.miui.cust_variant", "{cust_variant}"),
    ("ro.miui.has_gmscore", "{has_gms}"),
    ("ro.miui.has_real_blur", "1"),
    ("ro.miui.has_security_keyboard", "1"),
    ("ro.miui.notch", "1"),
    ("ro.miui.product.home", "com.miui.home"),
    ("ro.miui.region", "{miui_region}"),
    ("ro.miui.support_miui_ime_bottom", "1"),
    ("ro.miui.ui.version.code", "{miui_code}"),
    ("ro.miui.ui.version.name", "{miui_name}"),
    ("ro.miui.version.code_time", "{code_time}"),
    ("ro.product.cert", "{model}"),
    ("ro.product.marketname", "{marketname}"),
    ("ro.product.mod_device", "{mod_device}"),
    ("ro.product.odm.marketname", "{marketname}"),
    ("ro.product.vendor.marketname", "{marketname}"),
    ("sys.miui.user_authenticated", "true"),
];

/// Keys only HyperOS sets (FACTS.md §4: test these first).
const HYPEROS: &[(&str, &str)] = &[
    ("ro.mi.os.version.code", "{os_code}"),
    ("ro.mi.os.version.incremental", "{incremental}"),
    ("ro.mi.os.version.name", "{os_name}"),
    ("ro.mi.os.version.code_time", "{code_time}"),
    ("ro.mi.xms.version.incremental", "{incremental}"),
];

/// Xiaomi builds that expose the IMEI as a property.
const IMEI_PROPS: &[(&str, &str)] = &[
    ("ro.ril.oem.imei", "{imei}"),
    ("ro.ril.miui.imei0", "{imei}"),
];

const XIAOMI_APPS: &[(&str, u64, bool)] = &[
    ("android", 34, false),
    ("com.android.settings", 34, false),
    ("com.android.shell", 34, false),
    ("com.android.systemui", 34, false),
    ("com.android.providers.settings", 34, false),
    ("com.android.providers.media", 340_000_000, false),
    ("com.android.phone", 34, false),
    ("com.android.bluetooth", 34, false),
    ("com.miui.home", 465_120_000, false),
    ("com.miui.securitycenter", 40_000_800, false),
    ("com.miui.gallery", 3_050_380, false),
    ("com.miui.cloudservice", 1_800_120, false),
    ("com.miui.cloudbackup", 1_500_090, false),
    ("com.miui.backup", 1_000_280, false),
    ("com.miui.notes", 1_080, false),
    ("com.miui.soundrecorder", 3_002_400, false),
    ("com.xiaomi.account", 1_200_020, false),
    ("com.xiaomi.finddevice", 1_900_050, false),
    ("com.xiaomi.xmsf", 6_150_000, false),
    ("com.xiaomi.market", 4_006_150, false),
    ("com.miui.player", 6_210_000, false),
    ("com.whatsapp", 241_215_005, true),
    ("org.telegram.messenger", 47_130, true),
    ("com.spotify.music", 122_450_042, true),
];

const GMS: &[(&str, u64, bool)] = &[
    ("com.google.android.gms", 242_632_038, false),
    ("com.google.android.gsf", 34, false),
    ("com.android.vending", 84_101_530, false),
    ("com.google.android.youtube", 1_546_454_464, false),
];

const CN_APPS: &[(&str, u64, bool)] = &[
    ("com.tencent.mm", 2_680, true),
    ("com.eg.android.AlipayGphone", 735, true),
    ("com.sina.weibo", 6_143, true),
];

const PIXEL_APPS: &[(&str, u64, bool)] = &[
    ("android", 34, false),
    ("com.android.settings", 34, false),
    ("com.android.shell", 34, false),
    ("com.android.systemui", 34, false),
    ("com.android.providers.settings", 34, false),
    ("com.google.android.apps.nexuslauncher", 34, false),
    ("com.google.android.gms", 242_632_038, false),
    ("com.android.vending", 84_101_530, false),
    ("com.google.android.apps.photos", 49_128_301, false),
    ("com.google.android.dialer", 14_383_492, false),
    ("com.whatsapp", 241_215_005, true),
];

/// Every package list a profile can take, concatenated at build time of the table.
macro_rules! packages {
    ($($list:expr),*) => {{
        const fn len() -> usize { 0 $(+ $list.len())* }
        const LISTS: &[&[(&str, u64, bool)]] = &[$($list),*];
        const N: usize = len();
        const OUT: [(&str, u64, bool); N] = {
            let mut out = [("", 0, false); N];
            let mut i = 0;
            let mut l = 0;
            while l < LISTS.len() {
                let mut j = 0;
                while j < LISTS[l].len() {
                    out[i] = LISTS[l][j];
                    i += 1;
                    j += 1;
                }
                l += 1;
            }
            out
        };
        &OUT
    }};
}

pub static PROFILES: &[Profile] = &[
    Profile {
        name: "miui14-global",
        os: OsFlavour::Miui14,
        summary: "Redmi Note 12 Pro 5G, MIUI 14 global (Android 13), English, Mi account with Find Device on",
        xiaomi: true,
        lang: Lang::En,
        country: "GB",
        tac: "86801906",
        mi_account: Some(DemoAccount {
            user_id_prefix: "6203145",
            password: "MiDemo#14",
            phone_prefix: "+447700",
        }),
        google_account: false,
        screen_lock: false,
        adb_input: true,
        mask_account_names: false,
        dual_apps_mi: false,
        imei_props: true,
        iphonesubinfo_imei: true,
        storage_gb: 256,
        uname: "Linux localhost 5.4.210-qgki-g2b1f3a6c0d4e #1 SMP PREEMPT Tue Jun 6 21:14:33 CST 2023 aarch64 Toybox",
        vars: &[
            ("device", "ruby"),
            ("name", "ruby_global"),
            ("model", "22101316G"),
            ("marketname", "Redmi Note 12 Pro 5G"),
            ("brand", "Redmi"),
            ("manufacturer", "Xiaomi"),
            ("board", "ruby"),
            ("platform", "mt6877"),
            ("hardware", "mt6877"),
            ("cpu_variant", "cortex-a78"),
            ("egl", "mali"),
            ("sdk", "33"),
            ("release", "13"),
            ("first_api", "31"),
            ("build_id", "TP1A.220624.014"),
            ("incremental", "V14.0.5.0.TMOMIXM"),
            ("display_id", "TP1A.220624.014 release-keys"),
            (
                "fingerprint",
                "Redmi/ruby_global/ruby:13/TP1A.220624.014/V14.0.5.0.TMOMIXM:user/release-keys",
            ),
            ("security_patch", "2023-05-01"),
            ("build_date", "Tue Jun  6 21:10:02 CST 2023"),
            ("build_utc", "1686057002"),
            ("code_time", "1685894400"),
            (
                "build_host",
                "pangu-build-component-system-189611-hp9ms-5cmlk-3tkzf",
            ),
            ("build_user", "builder"),
            ("characteristics", "nosdcard"),
            ("clientidbase", "android-xiaomi-rvo3"),
            ("locale", "en-GB"),
            ("region", "GB"),
            ("timezone", "Europe/London"),
            ("operator", "vodafone UK"),
            ("iso", "gb"),
            ("mccmnc", "23415"),
            (
                "baseband",
                "MOLY.NR15.R3.TC8.PR2.SP.V1.P69,MOLY.NR15.R3.TC8.PR2.SP.V1.P69",
            ),
            ("ril_impl", "mtk infinity ril 1.0"),
            ("density", "440"),
            ("usb_controller", "musb-hdrc"),
            ("hwc", "GLOBAL"),
            ("hwversion", "9.1.9"),
            ("build_region", "global"),
            ("cust_variant", "gb"),
            ("has_gms", "1"),
            ("miui_region", "GB"),
            ("miui_code", "14"),
            ("miui_name", "V140"),
            ("mod_device", "ruby_global"),
        ],
        templates: &[AOSP, MIUI, IMEI_PROPS],
        props: &[("ro.miui.ui.font.mi_font_path", "/system/fonts/MiSansVF.ttf")],
        packages: packages!(XIAOMI_APPS, GMS),
    },
    Profile {
        name: "hyperos1-cn",
        os: OsFlavour::HyperOs1,
        summary: "Xiaomi 14, HyperOS 1 China (Android 14), Chinese UI, Mi account with Find Device on",
        xiaomi: true,
        lang: Lang::Zh,
        country: "CN",
        tac: "86935207",
        mi_account: Some(DemoAccount {
            user_id_prefix: "3071592",
            password: "HyperDemo#1",
            phone_prefix: "+86138",
        }),
        google_account: false,
        screen_lock: true,
        adb_input: true,
        mask_account_names: true,
        dual_apps_mi: true,
        imei_props: false,
        iphonesubinfo_imei: true,
        storage_gb: 512,
        uname: "Linux localhost 6.1.43-android14-11-o-g2a9b4c1d7e3f #1 SMP PREEMPT Thu Mar 14 02:11:53 UTC 2024 aarch64 Toybox",
        vars: &[
            ("device", "houji"),
            ("name", "houji"),
            ("model", "23127PN0CC"),
            ("marketname", "Xiaomi 14"),
            ("brand", "Xiaomi"),
            ("manufacturer", "Xiaomi"),
            ("board", "pineapple"),
            ("platform", "pineapple"),
            ("hardware", "qcom"),
            ("cpu_variant", "cortex-a76"),
            ("egl", "adreno"),
            ("sdk", "34"),
            ("release", "14"),
            ("first_api", "34"),
            ("build_id", "UKQ1.230804.001"),
            ("incremental", "OS1.0.30.0.UNCCNXM"),
            ("display_id", "UKQ1.230804.001 release-keys"),
            (
                "fingerprint",
                "Xiaomi/houji/houji:14/UKQ1.230804.001/OS1.0.30.0.UNCCNXM:user/release-keys",
            ),
            ("security_patch", "2024-03-01"),
            ("build_date", "Thu Mar 14 02:08:41 CST 2024"),
            ("build_utc", "1710353321"),
            ("code_time", "1710259200"),
            (
                "build_host",
                "pangu-build-component-system-246301-7bdhx-0xqkz-m8v2d",
            ),
            ("build_user", "builder"),
            ("characteristics", "nosdcard"),
            ("clientidbase", "android-xiaomi"),
            ("locale", "zh-Hans-CN"),
            ("region", "CN"),
            ("timezone", "Asia/Shanghai"),
            ("operator", "中国移动"),
            ("iso", "cn"),
            ("mccmnc", "46000"),
            (
                "baseband",
                "MPSS.DE.3.1.1-00183-PINNACLE_GEN_PACK-1,MPSS.DE.3.1.1-00183-PINNACLE_GEN_PACK-1",
            ),
            ("ril_impl", "Qualcomm RIL 1.0"),
            ("density", "480"),
            ("usb_controller", "a600000.dwc3"),
            ("hwc", "CN"),
            ("hwversion", "1.11.2"),
            ("build_region", "cn"),
            ("cust_variant", "cn"),
            ("has_gms", "0"),
            ("miui_region", "CN"),
            ("miui_code", "816"),
            ("miui_name", "V816"),
            ("mod_device", "houji"),
            ("os_name", "OS1.0"),
            ("os_code", "1"),
        ],
        templates: &[AOSP, MIUI, HYPEROS],
        props: &[("ro.product.locale.language", "zh")],
        packages: packages!(XIAOMI_APPS, CN_APPS),
    },
    Profile {
        name: "hyperos2-eea",
        os: OsFlavour::HyperOs2,
        summary: "Redmi Note 13 Pro 5G, HyperOS 2 EEA (Android 15), Mi account + Google account + PIN: FRP armed",
        xiaomi: true,
        lang: Lang::En,
        country: "DE",
        tac: "86412306",
        mi_account: Some(DemoAccount {
            user_id_prefix: "5518264",
            password: "HyperDemo#2",
            phone_prefix: "+49151",
        }),
        google_account: true,
        screen_lock: true,
        adb_input: false,
        mask_account_names: true,
        dual_apps_mi: false,
        imei_props: false,
        iphonesubinfo_imei: true,
        storage_gb: 256,
        uname: "Linux localhost 5.15.153-android13-8-o-g8d7e6c5b4a3f #1 SMP PREEMPT Fri Dec 13 18:40:12 CST 2024 aarch64 Toybox",
        vars: &[
            ("device", "garnet"),
            ("name", "garnet_eea"),
            ("model", "2312DRA50G"),
            ("marketname", "Redmi Note 13 Pro 5G"),
            ("brand", "Redmi"),
            ("manufacturer", "Xiaomi"),
            ("board", "parrot"),
            ("platform", "parrot"),
            ("hardware", "qcom"),
            ("cpu_variant", "cortex-a710"),
            ("egl", "adreno"),
            ("sdk", "35"),
            ("release", "15"),
            ("first_api", "33"),
            ("build_id", "AQ3A.240912.001"),
            ("incremental", "OS2.0.4.0.VNREUXM"),
            ("display_id", "AQ3A.240912.001 release-keys"),
            (
                "fingerprint",
                "Redmi/garnet_eea/garnet:15/AQ3A.240912.001/OS2.0.4.0.VNREUXM:user/release-keys",
            ),
            ("security_patch", "2024-12-01"),
            ("build_date", "Fri Dec 13 18:37:55 CST 2024"),
            ("build_utc", "1734086275"),
            ("code_time", "1733961600"),
            (
                "build_host",
                "pangu-build-component-system-310727-9xk2v-4pq7c-z1wbn",
            ),
            ("build_user", "builder"),
            ("characteristics", "nosdcard"),
            ("clientidbase", "android-xiaomi-rvo3"),
            ("locale", "en-GB"),
            ("region", "DE"),
            ("timezone", "Europe/Berlin"),
            ("operator", "Telekom.de"),
            ("iso", "de"),
            ("mccmnc", "26201"),
            (
                "baseband",
                "MPSS.DE.2.0-01583-PARROT_GEN_PACK-1,MPSS.DE.2.0-01583-PARROT_GEN_PACK-1",
            ),
            ("ril_impl", "Qualcomm RIL 1.0"),
            ("density", "440"),
            ("usb_controller", "a600000.dwc3"),
            ("hwc", "GL"),
            ("hwversion", "1.9.2"),
            ("build_region", "eea"),
            ("cust_variant", "de"),
            ("has_gms", "1"),
            ("miui_region", "DE"),
            ("miui_code", "816"),
            ("miui_name", "V816"),
            ("mod_device", "garnet_eea_global"),
            ("os_name", "OS2.0"),
            ("os_code", "2"),
        ],
        templates: &[AOSP, MIUI, HYPEROS],
        props: &[("ro.com.google.gmsversion", "15_202412")],
        packages: packages!(XIAOMI_APPS, GMS),
    },
    Profile {
        name: "xiaomi-clean",
        os: OsFlavour::Miui14,
        summary: "Redmi 12C, MIUI 14 global (Android 12), no accounts",
        xiaomi: true,
        lang: Lang::En,
        country: "IN",
        tac: "86723905",
        mi_account: None,
        google_account: false,
        screen_lock: false,
        adb_input: false,
        mask_account_names: false,
        dual_apps_mi: false,
        imei_props: true,
        iphonesubinfo_imei: true,
        storage_gb: 64,
        uname: "Linux localhost 4.19.191+ #1 SMP PREEMPT Wed Apr 26 19:02:11 CST 2023 aarch64 Toybox",
        vars: &[
            ("device", "earth"),
            ("name", "earth_in"),
            ("model", "22120RN86I"),
            ("marketname", "Redmi 12C"),
            ("brand", "Redmi"),
            ("manufacturer", "Xiaomi"),
            ("board", "earth"),
            ("platform", "mt6768"),
            ("hardware", "mt6768"),
            ("cpu_variant", "cortex-a75"),
            ("egl", "mali"),
            ("sdk", "31"),
            ("release", "12"),
            ("first_api", "31"),
            ("build_id", "SP1A.210812.016"),
            ("incremental", "V14.0.4.0.SCVINXM"),
            ("display_id", "SP1A.210812.016 release-keys"),
            (
                "fingerprint",
                "Redmi/earth_in/earth:12/SP1A.210812.016/V14.0.4.0.SCVINXM:user/release-keys",
            ),
            ("security_patch", "2023-04-01"),
            ("build_date", "Wed Apr 26 18:58:30 CST 2023"),
            ("build_utc", "1682506710"),
            ("code_time", "1682438400"),
            ("build_host", "c3-miui-ota-bd110.bj"),
            ("build_user", "builder"),
            ("characteristics", "nosdcard"),
            ("clientidbase", "android-xiaomi-rvo3"),
            ("locale", "en-IN"),
            ("region", "IN"),
            ("timezone", "Asia/Kolkata"),
            ("operator", "Jio 4G"),
            ("iso", "in"),
            ("mccmnc", "405857"),
            (
                "baseband",
                "MOLY.LR12A.R3.MP.V243.6,MOLY.LR12A.R3.MP.V243.6",
            ),
            ("ril_impl", "mtk infinity ril 1.0"),
            ("density", "320"),
            ("usb_controller", "musb-hdrc"),
            ("hwc", "India"),
            ("hwversion", "5.0.0"),
            ("build_region", "in"),
            ("cust_variant", "in"),
            ("has_gms", "1"),
            ("miui_region", "IN"),
            ("miui_code", "14"),
            ("miui_name", "V140"),
            ("mod_device", "earth_in_global"),
        ],
        templates: &[AOSP, MIUI, IMEI_PROPS],
        props: &[],
        packages: packages!(XIAOMI_APPS, GMS),
    },
    Profile {
        name: "pixel",
        os: OsFlavour::Miui14,
        summary: "Google Pixel 7, stock Android 14, not a Xiaomi",
        xiaomi: false,
        lang: Lang::En,
        country: "US",
        tac: "35544411",
        mi_account: None,
        google_account: true,
        screen_lock: false,
        adb_input: true,
        mask_account_names: false,
        dual_apps_mi: false,
        imei_props: false,
        iphonesubinfo_imei: false,
        storage_gb: 128,
        uname: "Linux localhost 5.10.198-android13-4-00050-g12f3d73a7f3b-ab11373429 #1 SMP PREEMPT Mon Jan 29 19:31:18 UTC 2024 aarch64 Toybox",
        vars: &[
            ("device", "panther"),
            ("name", "panther"),
            ("model", "Pixel 7"),
            ("brand", "google"),
            ("manufacturer", "Google"),
            ("board", "gs201"),
            ("platform", "gs201"),
            ("hardware", "panther"),
            ("cpu_variant", "cortex-a76"),
            ("egl", "mali"),
            ("sdk", "34"),
            ("release", "14"),
            ("first_api", "33"),
            ("build_id", "AP2A.240805.005"),
            ("incremental", "12025142"),
            ("display_id", "AP2A.240805.005"),
            (
                "fingerprint",
                "google/panther/panther:14/AP2A.240805.005/12025142:user/release-keys",
            ),
            ("security_patch", "2024-08-05"),
            ("build_date", "Tue Jun 25 20:42:16 UTC 2024"),
            ("build_utc", "1719348136"),
            ("build_host", "abfarm-release-2004-0196"),
            ("build_user", "android-build"),
            ("characteristics", "nosdcard"),
            ("clientidbase", "android-google"),
            ("locale", "en-US"),
            ("region", "US"),
            ("timezone", "America/New_York"),
            ("operator", "T-Mobile"),
            ("iso", "us"),
            ("mccmnc", "310260"),
            ("baseband", "g5300q-240307-240509-B-11845389"),
            ("ril_impl", "Samsung RIL"),
            ("density", "420"),
            ("usb_controller", "11210000.dwc3"),
        ],
        templates: &[AOSP],
        props: &[
            ("ro.boot.hardware.sku", "GVU6C"),
            ("ro.build.version.base_os", ""),
            ("ro.soc.manufacturer", "Google"),
            ("ro.soc.model", "GS201"),
        ],
        packages: PIXEL_APPS,
    },
];

/// Looks a profile up by name.
pub fn find(name: &str) -> Option<&'static Profile> {
    PROFILES.iter().find(|p| p.name == name)
}

/// Profile names, for usage and error messages.
pub fn names() -> Vec<&'static str> {
    PROFILES.iter().map(|p| p.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_has_a_full_prop_set_with_no_unfilled_placeholder() {
        for p in PROFILES {
            let id = p.identity(7);
            let props = p.props(&id, p.adb_input);
            assert!(props.len() >= 100, "{}: only {} props", p.name, props.len());
            for (k, v) in &props {
                assert!(!k.contains('{') && !v.contains('{'), "{}: {k}={v}", p.name);
            }
            assert_eq!(props["ro.serialno"], id.serial);
            assert_eq!(props["ro.boot.serialno"], id.serial);
        }
    }

    #[test]
    fn serial_and_imei_differ_by_seed_and_imei_passes_luhn() {
        let p = find("miui14-global").unwrap();
        let a = p.identity(1);
        let b = p.identity(2);
        assert_ne!(a.serial, b.serial);
        assert_ne!(a.imei, b.imei);
        assert_eq!(a, p.identity(1));
        for id in [&a, &b] {
            assert_eq!(id.imei.len(), 15);
            assert_eq!(luhn_complete(&id.imei[..14]), id.imei);
            assert!(id.imei.starts_with(p.tac));
        }
        // A known Luhn example.
        assert_eq!(luhn_complete("49015420323751"), "490154203237518");
    }

    #[test]
    fn hyperos_has_os_keys_and_miui_does_not() {
        let h = find("hyperos1-cn").unwrap();
        let hp = h.props(&h.identity(1), true);
        assert_eq!(hp["ro.mi.os.version.name"], "OS1.0");
        assert_eq!(hp["ro.product.mod_device"], "houji");
        let m = find("miui14-global").unwrap();
        let mp = m.props(&m.identity(1), true);
        assert!(!mp.contains_key("ro.mi.os.version.name"));
        assert!(mp["ro.product.mod_device"].contains("_global"));
        assert_eq!(mp["persist.security.adbinput"], "1");
        let px = find("pixel").unwrap();
        let pp = px.props(&px.identity(1), true);
        assert_eq!(pp["ro.product.manufacturer"], "Google");
        assert!(!pp.contains_key("ro.miui.ui.version.name"));
    }
}
