//! What the page's own address asks for. Read here, in the plumbing, so that the root
//! component and the steps it shows can both ask without importing each other.

/// `?debug=1` in the address: the page shows its test hooks.
pub fn debug_mode() -> bool {
    gloo::utils::window()
        .location()
        .search()
        .map(|s| s.contains("debug"))
        .unwrap_or(false)
}
