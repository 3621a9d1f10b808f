//! A tiny key-value store in IndexedDB (database `medclassify`, store `models`), usable from
//! the page and from workers. Values are byte arrays.

use js_sys::Uint8Array;
use wasm_bindgen::{JsCast, JsValue, closure::Closure};
use web_sys::{IdbDatabase, IdbFactory, IdbOpenDbRequest, IdbRequest, IdbTransactionMode};

use super::js;

const DATABASE: &str = "medclassify";
const STORE: &str = "models";

fn factory() -> Result<IdbFactory, String> {
    js::get(&js_sys::global(), "indexedDB")
        .dyn_into::<IdbFactory>()
        .map_err(|_| "IndexedDB is not available in this browser (private mode?)".to_string())
}

/// Awaits an `IDBRequest`'s success or error.
async fn finish(request: &IdbRequest) -> Result<JsValue, String> {
    let (sender, receiver) = futures::channel::oneshot::channel::<Result<JsValue, String>>();
    let sender = std::rc::Rc::new(std::cell::RefCell::new(Some(sender)));
    let ok = {
        let sender = sender.clone();
        let request = request.clone();
        Closure::<dyn FnMut()>::new(move || {
            if let Some(s) = sender.borrow_mut().take() {
                let _ = s.send(request.result().map_err(|e| js::error_text(&e)));
            }
        })
    };
    let fail = {
        let sender = sender.clone();
        let request = request.clone();
        Closure::<dyn FnMut()>::new(move || {
            let message = request
                .error()
                .ok()
                .flatten()
                .map(|e| format!("{}: {}", e.name(), e.message()))
                .unwrap_or_else(|| "unknown IndexedDB error".into());
            if let Some(s) = sender.borrow_mut().take() {
                let _ = s.send(Err(message));
            }
        })
    };
    request.set_onsuccess(Some(ok.as_ref().unchecked_ref()));
    request.set_onerror(Some(fail.as_ref().unchecked_ref()));
    let result = receiver
        .await
        .unwrap_or_else(|_| Err("IndexedDB request dropped".into()));
    request.set_onsuccess(None);
    request.set_onerror(None);
    result
}

async fn open() -> Result<IdbDatabase, String> {
    let request: IdbOpenDbRequest = factory()?
        .open_with_u32(DATABASE, 1)
        .map_err(|e| js::error_text(&e))?;
    let upgrade = {
        let request = request.clone();
        Closure::<dyn FnMut()>::new(move || {
            if let Ok(result) = request.result() {
                let db: IdbDatabase = result.unchecked_into();
                if !db.object_store_names().contains(STORE) {
                    let _ = db.create_object_store(STORE);
                }
            }
        })
    };
    request.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
    let db = finish(&request).await?;
    request.set_onupgradeneeded(None);
    Ok(db.unchecked_into())
}

/// Stores `bytes` under `key`.
pub async fn put(key: &str, bytes: &[u8]) -> Result<(), String> {
    let db = open().await?;
    let store = db
        .transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite)
        .and_then(|t| t.object_store(STORE))
        .map_err(|e| js::error_text(&e))?;
    let value = Uint8Array::from(bytes);
    let request = store
        .put_with_key(&value, &JsValue::from_str(key))
        .map_err(|e| js::error_text(&e))?;
    let result = finish(&request).await.map(|_| ());
    db.close();
    result.map_err(|e| format!("saving to IndexedDB failed: {e}"))
}

/// Reads the bytes under `key`, if any.
pub async fn get(key: &str) -> Result<Option<Vec<u8>>, String> {
    let db = open().await?;
    let store = db
        .transaction_with_str(STORE)
        .and_then(|t| t.object_store(STORE))
        .map_err(|e| js::error_text(&e))?;
    let request = store
        .get(&JsValue::from_str(key))
        .map_err(|e| js::error_text(&e))?;
    let value = finish(&request).await;
    db.close();
    let value = value?;
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    Ok(Some(Uint8Array::new(&value).to_vec()))
}

/// Deletes `key`.
pub async fn delete(key: &str) -> Result<(), String> {
    let db = open().await?;
    let store = db
        .transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite)
        .and_then(|t| t.object_store(STORE))
        .map_err(|e| js::error_text(&e))?;
    let request = store
        .delete(&JsValue::from_str(key))
        .map_err(|e| js::error_text(&e))?;
    let result = finish(&request).await.map(|_| ());
    db.close();
    result
}
