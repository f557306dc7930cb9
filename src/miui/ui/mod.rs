//! UI automation: uiautomator dump parsing, selectors, and screen recipes (data, not
//! code paths) for Xiaomi Settings screens.
