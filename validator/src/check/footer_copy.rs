//! Rules of the `footer_copy` family.

use super::Ctx;

pub(super) fn check(_ctx: &mut Ctx) {}
