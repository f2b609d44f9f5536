//! Rules of the `file` family.

use super::Ctx;

pub(super) fn check(_ctx: &mut Ctx) {}
