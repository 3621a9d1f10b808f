//! A pretrained backbone's weights file: safetensors, float32 only.
//!
//! `scripts/weights.sh` makes it once from the published PyTorch file (by exact version and
//! SHA-256); the page fetches it as a static asset and the command reads it from its cache
//! folder. It is untrusted input all the same (a damaged download, a file put there by hand):
//! every offset and size is checked against the bytes before anything is allocated, and a
//! tensor of the wrong name or shape is refused with a message that names it.

use std::collections::HashMap;

use burn::prelude::*;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The largest header accepted: the real one is 20 KB.
const MAX_HEADER: usize = 1 << 20;

/// The tensors of a weights file, by name.
pub struct WeightsFile {
    tensors: HashMap<String, Entry>,
    bytes: Vec<u8>,
}

struct Entry {
    shape: Vec<usize>,
    start: usize,
    end: usize,
}

#[derive(Deserialize)]
struct HeaderEntry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [usize; 2],
}

/// The SHA-256 of `bytes`, in hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl WeightsFile {
    /// Reads a safetensors file whose tensors are all float32.
    pub fn parse(bytes: Vec<u8>) -> Result<Self, String> {
        let header_len = bytes
            .get(..8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
            .ok_or("the file is shorter than a safetensors header")?;
        let header_len = usize::try_from(header_len)
            .ok()
            .filter(|&n| n <= MAX_HEADER && n <= bytes.len() - 8)
            .ok_or("the safetensors header length is out of range (damaged file?)")?;
        let header: HashMap<String, serde_json::Value> =
            serde_json::from_slice(&bytes[8..8 + header_len])
                .map_err(|e| format!("the safetensors header is not valid JSON: {e}"))?;
        let data_len = bytes.len() - 8 - header_len;
        let mut tensors = HashMap::new();
        for (name, value) in header {
            if name == "__metadata__" {
                continue;
            }
            let entry: HeaderEntry = serde_json::from_value(value)
                .map_err(|e| format!("tensor {name}: malformed header entry: {e}"))?;
            let [start, end] = entry.data_offsets;
            let count = entry
                .shape
                .iter()
                .try_fold(1usize, |n, &d| n.checked_mul(d))
                .ok_or_else(|| format!("tensor {name}: shape {:?} overflows", entry.shape))?;
            if entry.dtype != "F32" {
                return Err(format!("tensor {name} is {}, expected F32", entry.dtype));
            }
            if start > end || end > data_len || Some(end - start) != count.checked_mul(4) {
                return Err(format!(
                    "tensor {name}: its bytes {start}..{end} do not fit its shape {:?} or the file",
                    entry.shape
                ));
            }
            let (start, end) = (start + 8 + header_len, end + 8 + header_len);
            tensors.insert(
                name,
                Entry {
                    shape: entry.shape,
                    start,
                    end,
                },
            );
        }
        Ok(Self { tensors, bytes })
    }

    /// How many tensors the file holds.
    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    /// Whether the file holds no tensor.
    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// The values of tensor `name`, which must have shape `shape`.
    pub fn values(&self, name: &str, shape: &[usize]) -> Result<TensorData, String> {
        let entry = self
            .tensors
            .get(name)
            .ok_or_else(|| format!("the weights file has no tensor {name}"))?;
        if entry.shape != shape {
            return Err(format!(
                "tensor {name} has shape {:?}, the network needs {shape:?}",
                entry.shape
            ));
        }
        let values: Vec<f32> = self.bytes[entry.start..entry.end]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if values.iter().any(|v| !v.is_finite()) {
            return Err(format!("tensor {name} holds a value that is not finite"));
        }
        Ok(TensorData::new(values, shape.to_vec()))
    }

    /// Tensor `name` of rank `D` on `device`.
    pub fn tensor<const D: usize>(
        &self,
        name: &str,
        shape: [usize; D],
        device: &Device,
    ) -> Result<Tensor<D>, String> {
        Ok(Tensor::from_data(self.values(name, &shape)?, device))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(header: &str, data: &[u8]) -> Vec<u8> {
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(data);
        bytes
    }

    #[test]
    fn reads_a_tensor_and_checks_its_shape() {
        let data: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let header =
            r#"{"__metadata__":{"a":"b"},"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#;
        let weights = WeightsFile::parse(file(header, &data)).unwrap();
        assert_eq!(weights.len(), 1);
        let values = weights.values("w", &[2, 2]).unwrap();
        assert_eq!(
            values.try_to_vec::<f32>().unwrap(),
            vec![1.0, 2.0, 3.0, 4.0]
        );
        assert!(
            weights
                .values("w", &[4])
                .unwrap_err()
                .contains("shape [2, 2]")
        );
        assert!(
            weights
                .values("v", &[4])
                .unwrap_err()
                .contains("no tensor v")
        );
    }

    #[test]
    fn refuses_damaged_files_without_panicking() {
        let ok = r#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
        let cases: Vec<Vec<u8>> = vec![
            vec![1, 2, 3],
            file("{not json", &[0; 8]),
            file(ok, &[0; 4]),
            file(&ok.replace("F32", "F16"), &[0; 8]),
            file(&ok.replace("[2]", "[3]"), &[0; 8]),
            file(&ok.replace("[0,8]", "[8,0]"), &[0; 8]),
            file(
                r#"{"w":{"dtype":"F32","shape":[4611686018427387904,8],"data_offsets":[0,8]}}"#,
                &[0; 8],
            ),
            {
                let mut b = u64::MAX.to_le_bytes().to_vec();
                b.extend_from_slice(&[0; 16]);
                b
            },
        ];
        for bytes in cases {
            assert!(WeightsFile::parse(bytes).is_err());
        }
        let nan = f32::NAN.to_le_bytes().repeat(2);
        let weights = WeightsFile::parse(file(ok, &nan)).unwrap();
        assert!(
            weights
                .values("w", &[2])
                .unwrap_err()
                .contains("not finite")
        );
    }
}
