//! Errors of the scripting layer that are not script run-time errors (those become
//! `Reply::Error`s, as Redis replies them).

/// A script or library that cannot be loaded, or an engine that cannot start.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ScriptError {
    /// Refused input; the text is Redis's reply without the `ERR ` prefix.
    #[error("ERR {0}")]
    Invalid(String),
    /// The Lua VM failed in a way no input should cause (allocation at start-up, a bug here).
    #[error("ERR Lua engine failure: {0}")]
    Engine(String),
}

impl ScriptError {
    pub(crate) fn invalid(msg: impl Into<String>) -> ScriptError {
        ScriptError::Invalid(msg.into())
    }

    /// The error as the reply text Redis sends (without the leading '-').
    pub fn reply_text(&self) -> String {
        self.to_string()
    }
}

impl From<mlua::Error> for ScriptError {
    fn from(e: mlua::Error) -> Self {
        ScriptError::Engine(e.to_string())
    }
}
