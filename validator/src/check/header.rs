//! Rules of the `header` family.

use super::Ctx;

pub(super) fn check(_ctx: &mut Ctx) {}
