//! A tiny key-value store in IndexedDB (database `medclassify` version 2; values `Uint8Array`s),
//! usable from the page and from workers. Store `models` (keys the slot names) since version 1;
//! store `tuning` (keys an adapter and the versions, values its kernel-tuning winners) since
//! version 2.
//!
//! Through the `idb` crate (0.6, on wasm-bindgen 0.2 like the rest; it finds `indexedDB` on the
//! global, so it works in workers) rather than by hand. Not `rexie`: it is a layer over `idb`'s
//! database builder, whose upgrade handler panics (`expect`) on any failure and deletes every
//! store it was not told about; here the upgrade only creates the stores that are missing, so
//! the databases of existing users open with their models kept.

use idb::{Database, DatabaseEvent, Factory, ObjectStore, ObjectStoreParams, TransactionMode};
use js_sys::Uint8Array;
use wasm_bindgen::JsValue;

const DATABASE: &str = "medclassify";
const VERSION: u32 = 2;
/// Saved models.
pub const MODELS: &str = "models";
/// Kernel-tuning winners per adapter.
pub const TUNING: &str = "tuning";

async fn open() -> Result<Database, String> {
    let factory = Factory::new()
        .map_err(|_| "IndexedDB is not available in this browser (private mode?)".to_string())?;
    let mut request = factory
        .open(DATABASE, Some(VERSION))
        .map_err(|e| e.to_string())?;
    request.on_upgrade_needed(|event| {
        if let Ok(db) = event.database() {
            for name in [MODELS, TUNING] {
                if !db.store_names().iter().any(|existing| existing == name) {
                    let _ = db.create_object_store(name, ObjectStoreParams::new());
                }
            }
        }
    });
    request.await.map_err(|e| e.to_string())
}

/// The store `name` in a new transaction of `db`.
fn store(db: &Database, name: &str, mode: TransactionMode) -> Result<ObjectStore, String> {
    db.transaction(&[name], mode)
        .and_then(|t| t.object_store(name))
        .map_err(|e| e.to_string())
}

/// Stores `bytes` under `key` in the models store.
pub async fn put(key: &str, bytes: &[u8]) -> Result<(), String> {
    put_in(MODELS, key, bytes).await
}

/// Stores `bytes` under `key` in the store `name`.
pub async fn put_in(name: &str, key: &str, bytes: &[u8]) -> Result<(), String> {
    let db = open().await?;
    let result = async {
        let request = store(&db, name, TransactionMode::ReadWrite)?
            .put(
                &Uint8Array::from(bytes).into(),
                Some(&JsValue::from_str(key)),
            )
            .map_err(|e| e.to_string())?;
        request.await.map(|_| ()).map_err(|e| e.to_string())
    }
    .await;
    db.close();
    result.map_err(|e| format!("saving to IndexedDB failed: {e}"))
}

/// Reads the bytes under `key` in the models store, if any.
pub async fn get(key: &str) -> Result<Option<Vec<u8>>, String> {
    get_in(MODELS, key).await
}

/// Reads the bytes under `key` in the store `name`, if any.
pub async fn get_in(name: &str, key: &str) -> Result<Option<Vec<u8>>, String> {
    let db = open().await?;
    let value = async {
        let request = store(&db, name, TransactionMode::ReadOnly)?
            .get(JsValue::from_str(key))
            .map_err(|e| e.to_string())?;
        request.await.map_err(|e| e.to_string())
    }
    .await;
    db.close();
    Ok(value?
        .filter(|value| !value.is_undefined() && !value.is_null())
        .map(|value| Uint8Array::new(&value).to_vec()))
}

/// Deletes `key` from the models store.
pub async fn delete(key: &str) -> Result<(), String> {
    let db = open().await?;
    let result = async {
        let request = store(&db, MODELS, TransactionMode::ReadWrite)?
            .delete(JsValue::from_str(key))
            .map_err(|e| e.to_string())?;
        request.await.map_err(|e| e.to_string())
    }
    .await;
    db.close();
    result
}
