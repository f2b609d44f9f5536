//! Rules of the `footer` family.

use super::Ctx;

pub(super) fn check(_ctx: &mut Ctx) {}
