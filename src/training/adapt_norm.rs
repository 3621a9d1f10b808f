//! A pretrained backbone's BatchNorm statistics re-estimated on the user's images before
//! fine-tuning (AdaBN: Li et al., "Revisiting Batch Normalization For Practical Domain
//! Adaptation", 2016).
//!
//! EfficientNet-Lite0's BatchNorm layers normalise with the means and variances of ImageNet
//! photographs; a grey CT slice on black gives every channel other statistics. Fine-tuning
//! keeps those layers frozen in inference mode (so that a batch computed in parts, the page's
//! helper and the folded convolutions all give the exact gradient), and without this step they
//! keep ImageNet's numbers for the whole run. With 5 MedNIST images a class that cost up to
//! 4 points of test accuracy: on draw 11 of `bench/small_data.sh` the network called 274 of
//! 1,500 HeadCT test images something else; with the statistics of its 30 training images, 14.
//! The weights do not change, and after this pass the statistics are frozen again, so
//! everything above stays exact. Only fine-tuning of every layer does this: a frozen
//! backbone (head only, top blocks) keeps ImageNet's statistics with its weights.

use burn::prelude::*;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::micro_batch::part_size;
use crate::data::{Dataset, make_batch};
use crate::model::{Classifier, Transfer};

/// At most this many training images (a seeded sample of them) set the statistics: enough
/// for a mean and a variance per channel (each image gives one value per position), and
/// seconds of work in the page at 224 px.
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
    let mut order = train.to_vec();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    order.truncate(ADAPT_IMAGES);
    // Two replicas' share, as in the page with its helper, so that the command and the page
    // see the same parts (and the same statistics).
    let most = part_size(&model, dataset.shape.side(), order.len(), 2);
    let parts = even_parts(order.len(), most)
        .map(|range| make_batch(dataset, &order[range], None, device).0)
        .collect();
    model.adapt_norm(parts, transfer)
}

/// `0..count` in as few parts of at most `most` as it takes, their lengths within one of
/// each other (a last part of one or two images would record a noisy variance).
fn even_parts(count: usize, most: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    let parts = count.div_ceil(most.max(1)).max(1);
    (0..parts).map(move |i| i * count / parts..(i + 1) * count / parts)
}

#[cfg(test)]
mod tests {
    use super::even_parts;

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
