//! Rules of the `locator` family.

use super::Ctx;

pub(super) fn check(_ctx: &mut Ctx) {}
