//! The data options every data subcommand shares (`--size`, `--colour`, the split, DICOM)
//! and their checks: the leaf the subcommands' files import, so that none of them imports the
//! dispatcher (`cli.rs`) that imports them.

use medclassify::data::{
    Colour, DicomOptions, Frames, GroupBy, InputShape, SUPPORTED_SIZES, SplitConfig, Window,
};

/// How a folder becomes a data set: the same options for `inspect`, `train` and `export`.
#[derive(clap::Args)]
pub struct DataArgs {
    /// Image side after resizing (28, 32, 64 or 128; 160, 192 or 224 for efficientnet_lite0).
    /// Default 32; a MedMNIST `.npz` or a `.mcdata` file keeps its own size unless it is given.
    #[arg(long)]
    pub size: Option<u32>,
    /// Seed of the split (and, for `train`, of initialisation, shuffling and dropout), 0 to
    /// 2^53 - 1 (the page takes the same).
    #[arg(long, default_value_t = 42, value_parser = medclassify::data::parse_seed)]
    pub seed: u64,
    /// Split fractions train,validation,test.
    #[arg(long, default_value = "0.7,0.15,0.15")]
    pub fractions: String,
    /// Keep only one file of each duplicate group (drop the redundant ones before splitting).
    #[arg(long)]
    pub drop_duplicates: bool,
    /// Keep each patient's images in one subset (and one cross-validation fold): `none`,
    /// `folder:N` (the folder N levels below the chosen one: class/patient/image is
    /// folder:1), `prefix:C` (the file name before the first character C, e.g. prefix:_),
    /// `dicom:patient` (Patient ID) or `dicom:study` (Study Instance UID).
    #[arg(long, default_value = "none")]
    pub group_by: String,
    /// How DICOM files become 8-bit: from-file (their Window Center/Width, else min-max),
    /// min-max, a CT window (brain, soft-tissue, mediastinum, lung, bone) or CENTER,WIDTH.
    /// A model records it; evaluate and predict use the model's.
    #[arg(long, default_value = "from-file")]
    pub window: String,
    /// Multi-frame DICOM files: middle (one image, the middle frame) or every (one image per
    /// frame, a file's frames kept in one subset). A model records it; evaluate uses the
    /// model's.
    #[arg(long, default_value = "middle")]
    pub frames: String,
    /// grayscale (colour files become luma) or rgb (three channels; gray files repeat their
    /// value). A model records it; evaluate and predict use the model's.
    #[arg(long, default_value = "grayscale")]
    pub colour: String,
}

impl DataArgs {
    /// The shape `--size` and `--colour` ask for (checked by [`DataArgs::split_config`]); the
    /// one conversion of the flags, so that everything past the parser takes an [`InputShape`].
    pub fn shape(&self) -> InputShape {
        InputShape::square(self.size.unwrap_or(DEFAULT_SIZE))
            .with_colour(Colour::parse(&self.colour).unwrap_or_default())
    }

    /// The DICOM window and frames `--window` and `--frames` ask for.
    pub fn dicom(&self) -> Result<DicomOptions, String> {
        Ok(DicomOptions {
            window: Window::parse(&self.window).map_err(|why| format!("--window {why}"))?,
            frames: Frames::parse(&self.frames).map_err(|why| format!("--frames {why}"))?,
        })
    }

    /// The split settings, or what is wrong with them; the size is checked first.
    pub fn split_config(&self) -> Result<SplitConfig, String> {
        check_size(self.size.unwrap_or(DEFAULT_SIZE))?;
        if Colour::parse(&self.colour).is_none() {
            return Err(format!("--colour {:?}: say grayscale or rgb", self.colour));
        }
        let mut config = split_config(&self.fractions, self.seed, self.drop_duplicates)?;
        config.group_by = GroupBy::parse(&self.group_by)
            .map_err(|why| format!("--group-by {:?}: {why}", self.group_by))?;
        Ok(config)
    }
}

fn split_config(fractions: &str, seed: u64, drop_duplicates: bool) -> Result<SplitConfig, String> {
    let parts: Vec<f64> = fractions
        .split(',')
        .map(|p| {
            p.trim()
                .parse::<f64>()
                .map_err(|_| format!("bad fraction {p:?} in --fractions"))
        })
        .collect::<Result<_, _>>()?;
    let [train, validation, test] = parts[..] else {
        return Err("--fractions takes three numbers: train,validation,test".into());
    };
    Ok(SplitConfig {
        train,
        validation,
        test,
        seed,
        drop_duplicates,
        ..SplitConfig::default()
    })
}

/// `--size` when none is given (and the data does not carry its own).
pub const DEFAULT_SIZE: u32 = 32;

pub fn check_size(size: u32) -> Result<(), String> {
    let pretrained = medclassify::model::pretrained::BACKBONES
        .iter()
        .any(|b| b.sizes.contains(&size));
    if SUPPORTED_SIZES.contains(&size) || pretrained {
        Ok(())
    } else {
        Err(format!(
            "--size {size} is not offered; use one of {SUPPORTED_SIZES:?}, or 160, 192 or 224 for efficientnet_lite0"
        ))
    }
}
