//! Lua 5.1 scripting as Redis runs it: the sandboxed environment, Redis's Lua libraries and reply conversion. (Being built, issue 15.)
