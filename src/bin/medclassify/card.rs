//! `medclassify card`: a model file's model card.

use std::path::Path;

use medclassify::native::terminal_safe;
use medclassify::storage::{ModelCard, model_card_markdown};

use crate::output::print_json;
use crate::source::read_model;

pub fn card(model_path: &Path, json: bool) -> Result<(), String> {
    let file = read_model(model_path)?;
    if json {
        print_json(&ModelCard::new(&file.meta));
    } else {
        print!("{}", terminal_safe(&model_card_markdown(&file.meta)));
    }
    Ok(())
}
