//! A pretrained backbone's BatchNorm statistics re-estimated on the user's images before
//! training (AdaBN: Li et al., "Revisiting Batch Normalization For Practical Domain
//! Adaptation", 2016).
//!
//! EfficientNet-Lite0's BatchNorm layers normalise with the means and variances of ImageNet
//! photographs; a grey CT slice on black gives every channel other statistics. Training keeps
//! those layers frozen in inference mode (so that a batch computed in parts, the page's
//! helper and the folded convolutions all give the exact gradient), and without this step they
//! keep ImageNet's numbers for the whole run. With 5 MedNIST images a class that cost up to
//! 4 points of test accuracy: on draw 11 of `bench/small_data.sh` the fine-tuned network
//! called 274 of 1,500 HeadCT test images something else; with the statistics of its 30
//! training images, 14. The weights do not change, and after this pass the statistics are
//! frozen again, so everything above stays exact.
//!
//! Asked for (`TrainingConfig::adapt_norm`), it runs before a head-only run (AdaBN as first
//! published: a frozen network adapted by its statistics alone; the head then trains on the
//! features of the fitted network, computed once) and before fine-tuning every layer; the top
//! blocks keep ImageNet's (not measured). Off by default: on PneumoniaMNIST (two findings on
//! one kind of radiograph) it cost AUC either way (BENCHMARKS.md, "Where AdaBN loses"). Both
//! effects come from channels that barely vary on the user's images and that their own
//! statistics make louder: with every variance kept at least ImageNet's, PneumoniaMNIST got
//! its AUC back and MedNIST lost most of its gain (`EfficientNetLite::adapt_norm`).

use burn::prelude::*;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::micro_batch::part_size;
use super::weighting::shuffled_by_class;
use crate::data::{Dataset, make_batch};
use crate::model::{Classifier, Transfer};

/// At most this many training images (a seeded sample of them, [`sample`]) set the
/// statistics: enough for a mean and a variance per channel (each image gives one value per
/// position), and seconds of work in the page at 224 px.
pub const ADAPT_IMAGES: usize = 128;

/// `model`, prepared for `transfer`, with its backbone's BatchNorm statistics those of (up
/// to [`ADAPT_IMAGES`] of) the images `train` of `dataset`, a sample drawn with `seed`,
/// computed on `device` in parts that fit the memory a training step may take.
pub(super) fn adapt_norm(
    model: Classifier,
    (dataset, train): (&Dataset, &[usize]),
    transfer: Transfer,
    seed: u64,
    device: &Device,
) -> Classifier {
    let classes = dataset.classes.len();
    let order = sample(train, (|i| dataset.samples[i].label, classes), seed);
    // Two replicas' share, as in the page with its helper, so that the command and the page
    // see the same parts (and the same statistics).
    let most = part_size(&model, dataset.shape.side(), order.len(), 2);
    // Each part is decoded as it goes through, so that one part's pixels are held at a time.
    let parts = even_parts(order.len(), most)
        .map(|range| make_batch(dataset, &order[range], None, device).0);
    model.adapt_norm(parts, transfer)
}

/// The images of `train` (of `classes` classes, labelled by `label`) whose statistics the
/// backbone takes, in a seeded order: all of them when there are at most [`ADAPT_IMAGES`],
/// else that many drawn class by class in turn (each class's images in a seeded order), as
/// many of each class as it has up to an equal share, so that a small class is not left out
/// of its statistics. (On PneumoniaMNIST, nine pneumonia images to one normal, this changed
/// the test AUC by 0.001 against a random sample: BENCHMARKS.md, "Where AdaBN loses".)
fn sample(
    train: &[usize],
    (label, classes): (impl Fn(usize) -> usize, usize),
    seed: u64,
) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut chosen = if train.len() <= ADAPT_IMAGES {
        train.to_vec()
    } else {
        let classes = shuffled_by_class(train, label, classes, &mut rng);
        let deepest = classes.iter().map(Vec::len).max().unwrap_or(0);
        (0..deepest)
            .flat_map(|depth| classes.iter().filter_map(move |images| images.get(depth)))
            .take(ADAPT_IMAGES)
            .copied()
            .collect()
    };
    // All of a small set in the order every run before class-by-class sampling used, so that
    // those runs' statistics (and records) stay as they were.
    chosen.shuffle(&mut rng);
    chosen
}

/// `0..count` in as few parts of at most `most` as it takes, their lengths within one of
/// each other (a last part of one or two images would record a noisy variance).
fn even_parts(count: usize, most: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    let parts = count.div_ceil(most.max(1)).max(1);
    (0..parts).map(move |i| i * count / parts..(i + 1) * count / parts)
}

#[cfg(test)]
mod tests {
    use super::{ADAPT_IMAGES, even_parts, sample};
    use rand::SeedableRng;
    use rand::seq::SliceRandom;
    use rand_chacha::ChaCha8Rng;

    /// How many of `chosen` each label has, with `labels[i]` the label of image `i`.
    fn per_class(chosen: &[usize], labels: &[usize]) -> Vec<usize> {
        let mut counts = vec![0; labels.iter().max().unwrap() + 1];
        for &i in chosen {
            counts[labels[i]] += 1;
        }
        counts
    }

    #[test]
    fn an_imbalanced_set_gives_every_class_an_equal_share_of_the_sample() {
        // PneumoniaMNIST's training array: 388 normal, 3,494 pneumonia, interleaved.
        let labels: Vec<usize> = (0..3882).map(|i| usize::from(i % 10 != 0)).collect();
        let train: Vec<usize> = (0..3882).collect();
        let chosen = sample(&train, (|i| labels[i], 2), 7);
        assert_eq!(chosen.len(), ADAPT_IMAGES);
        assert_eq!(per_class(&chosen, &labels), [64, 64]);
        let mut unique = chosen.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ADAPT_IMAGES, "an image drawn twice");
        // A class smaller than its share gives all it has; the rest come from the others.
        let train: Vec<usize> = (0..3882).filter(|i| labels[*i] == 1 || *i < 400).collect();
        assert_eq!(per_class(&chosen_of(&train, &labels, 7), &labels), [40, 88]);
        // Only images of `train`, the same for a seed, another draw for another seed.
        assert!(
            chosen_of(&train, &labels, 7)
                .iter()
                .all(|i| train.contains(i))
        );
        assert_eq!(chosen_of(&train, &labels, 7), chosen_of(&train, &labels, 7));
        assert_ne!(chosen_of(&train, &labels, 7), chosen_of(&train, &labels, 8));
    }

    fn chosen_of(train: &[usize], labels: &[usize], seed: u64) -> Vec<usize> {
        sample(train, (|i| labels[i], 2), seed)
    }

    #[test]
    fn a_set_that_fits_is_taken_whole_in_the_order_earlier_runs_used() {
        let labels: Vec<usize> = (0..200).map(|i| usize::from(i % 10 != 0)).collect();
        let train: Vec<usize> = (0..200).step_by(2).chain(1..29).collect();
        assert!(train.len() <= ADAPT_IMAGES);
        let mut before = train.clone();
        before.shuffle(&mut ChaCha8Rng::seed_from_u64(11));
        assert_eq!(sample(&train, (|i| labels[i], 2), 11), before);
    }

    #[test]
    fn parts_cover_everything_once_and_evenly() {
        for (count, most) in [(30, 6), (31, 6), (128, 13), (5, 13), (1, 1), (7, 3)] {
            let parts: Vec<_> = even_parts(count, most).collect();
            assert_eq!(parts.first().unwrap().start, 0);
            assert_eq!(parts.last().unwrap().end, count);
            assert!(parts.windows(2).all(|w| w[0].end == w[1].start));
            let lengths: Vec<usize> = parts.iter().map(|r| r.len()).collect();
            assert!(
                lengths.iter().all(|&n| n <= most && n > 0),
                "{count}/{most}: {lengths:?}"
            );
            let (lo, hi) = (lengths.iter().min().unwrap(), lengths.iter().max().unwrap());
            assert!(hi - lo <= 1, "{count}/{most}: {lengths:?}");
            assert_eq!(parts.len(), count.div_ceil(most));
        }
    }
}
