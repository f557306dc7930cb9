//! [`UiDevice`] on a phone behind the adb server (`crate::adb::Device`): every command
//! passes the guard first, and adb's errors become the engine's, without the command
//! line (it may carry the password).

use secrecy::{ExposeSecret, SecretString};

use super::device::{DeviceError, ShellResult, UiDevice, check_command};
use crate::adb::{AdbError, Device};

fn convert(serial: &str, e: AdbError) -> DeviceError {
    let serial = serial.to_string();
    match e {
        AdbError::Timeout { secs, .. } => DeviceError::Timeout { serial, secs },
        e if e.is_lost() => DeviceError::Lost {
            serial,
            detail: e.to_string(),
        },
        e => DeviceError::Other {
            serial,
            detail: e.to_string(),
        },
    }
}

fn result(out: crate::adb::ShellOutput) -> ShellResult {
    ShellResult {
        stdout: out.stdout_text(),
        stderr: out.stderr_text(),
        code: Some(i32::from(out.code)),
    }
}

impl UiDevice for Device {
    fn serial(&self) -> &str {
        Device::serial(self)
    }

    async fn shell(&self, cmd: &str) -> Result<ShellResult, DeviceError> {
        check_command(Device::serial(self), cmd)?;
        Device::shell(self, cmd)
            .await
            .map(result)
            .map_err(|e| convert(Device::serial(self), e))
    }

    async fn shell_secret(&self, cmd: &SecretString) -> Result<ShellResult, DeviceError> {
        // No tracing here: the line holds the password. adb's errors never quote the
        // service string, so passing them on is safe.
        Device::shell(self, cmd.expose_secret())
            .await
            .map(result)
            .map_err(|e| convert(Device::serial(self), e))
    }

    async fn exec(&self, cmd: &str) -> Result<Vec<u8>, DeviceError> {
        check_command(Device::serial(self), cmd)?;
        Device::exec(self, cmd)
            .await
            .map_err(|e| convert(Device::serial(self), e))
    }
}
