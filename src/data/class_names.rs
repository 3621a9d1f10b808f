//! What a list of class names must be, wherever it comes from (folders, data files, model
//! files).

/// The longest class name accepted (in characters).
pub const MAX_CLASS_NAME: usize = 200;

/// Class names a model or data set may carry: at least two, none empty or overlong, no two
/// alike (a duplicate would make two outputs print the same and mean different things).
pub fn validate_class_names(classes: &[String]) -> Result<(), String> {
    if classes.len() < 2 {
        let found = match classes.first() {
            Some(name) => format!(" ({name})"),
            None => String::new(),
        };
        return Err(format!(
            "{} class(es){found}; a classifier needs at least 2",
            classes.len()
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for name in classes {
        if name.trim().is_empty() {
            return Err("a class name is empty".into());
        }
        if name.chars().count() > MAX_CLASS_NAME {
            return Err(format!(
                "a class name is longer than {MAX_CLASS_NAME} characters"
            ));
        }
        if !seen.insert(name.as_str()) {
            return Err(format!("the class name {name:?} appears twice"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn two_or_more_distinct_non_empty_names_pass() {
        assert!(validate_class_names(&names(&["CXR", "Hand"])).is_ok());
        assert!(
            validate_class_names(&names(&["CXR"]))
                .unwrap_err()
                .contains("at least 2")
        );
        assert!(
            validate_class_names(&names(&["CXR", "CXR"]))
                .unwrap_err()
                .contains("twice")
        );
        assert!(
            validate_class_names(&names(&["CXR", " "]))
                .unwrap_err()
                .contains("empty")
        );
        let long = "x".repeat(MAX_CLASS_NAME + 1);
        assert!(
            validate_class_names(&[long, "a".into()])
                .unwrap_err()
                .contains("longer")
        );
    }
}
