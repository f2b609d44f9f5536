//! Rules of the `bitmap` family.

use super::Ctx;

pub(super) fn check(_ctx: &mut Ctx) {}
