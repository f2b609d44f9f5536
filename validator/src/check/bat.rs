//! Rules of the `bat` family.

use super::Ctx;

pub(super) fn check(_ctx: &mut Ctx) {}
