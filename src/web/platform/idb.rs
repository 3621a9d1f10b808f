//! A tiny key-value store in IndexedDB (database `medclassify` version 1, store `models`, keys
//! the slot names, values `Uint8Array`s), usable from the page and from workers.
//!
//! Through the `idb` crate (0.6, on wasm-bindgen 0.2 like the rest; it finds `indexedDB` on the
//! global, so it works in workers) rather than by hand. Not `rexie`: it is a layer over `idb`'s
//! database builder, whose upgrade handler panics (`expect`) on any failure and deletes every
//! store it was not told about; here the upgrade only creates the one store if it is missing,
//! exactly as before, so the databases of existing users open unchanged.

use idb::{Database, DatabaseEvent, Factory, ObjectStore, ObjectStoreParams, TransactionMode};
use js_sys::Uint8Array;
use wasm_bindgen::JsValue;

const DATABASE: &str = "medclassify";
const STORE: &str = "models";

async fn open() -> Result<Database, String> {
    let factory = Factory::new()
        .map_err(|_| "IndexedDB is not available in this browser (private mode?)".to_string())?;
    let mut request = factory.open(DATABASE, Some(1)).map_err(|e| e.to_string())?;
    request.on_upgrade_needed(|event| {
        if let Ok(db) = event.database()
            && !db.store_names().iter().any(|name| name == STORE)
        {
            let _ = db.create_object_store(STORE, ObjectStoreParams::new());
        }
    });
    request.await.map_err(|e| e.to_string())
}

/// The store in a new transaction of `db`.
fn store(db: &Database, mode: TransactionMode) -> Result<ObjectStore, String> {
    db.transaction(&[STORE], mode)
        .and_then(|t| t.object_store(STORE))
        .map_err(|e| e.to_string())
}

/// Stores `bytes` under `key`.
pub async fn put(key: &str, bytes: &[u8]) -> Result<(), String> {
    let db = open().await?;
    let result = async {
        let request = store(&db, TransactionMode::ReadWrite)?
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

/// Reads the bytes under `key`, if any.
pub async fn get(key: &str) -> Result<Option<Vec<u8>>, String> {
    let db = open().await?;
    let value = async {
        let request = store(&db, TransactionMode::ReadOnly)?
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

/// Deletes `key`.
pub async fn delete(key: &str) -> Result<(), String> {
    let db = open().await?;
    let result = async {
        let request = store(&db, TransactionMode::ReadWrite)?
            .delete(JsValue::from_str(key))
            .map_err(|e| e.to_string())?;
        request.await.map_err(|e| e.to_string())
    }
    .await;
    db.close();
    result
}
