//! The benchmark's floor: the Node reference's `MyModels` server written on
//! socketioxide alone, models in a map in memory, with socketioxide's
//! defaults. What halo measures over it is what halo itself costs (views,
//! store, ordering), apart from the socket library both use.
//!
//!     bare-socketioxide <port>
//!
//! Like the Node reference: a room per model and one for the view, pushes
//! skip the sender, `update` changes only `someProperty`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{Map, Value, json};
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Data, SocketRef};
use socketioxide::handler::ConnectHandler;

type Models = Arc<Mutex<HashMap<String, Map<String, Value>>>>;

fn not_found() -> Value {
    json!({ "code": "not_found", "message": "no such model" })
}

fn id_of(data: &Value) -> Option<&str> {
    data.get("id").and_then(Value::as_str)
}

fn on_connect(socket: SocketRef, models: Models) {
    let created = Arc::clone(&models);
    socket.on(
        "MyModels:create",
        async move |socket: SocketRef, Data(data): Data<Value>, ack: AckSender| {
            let mut model = Map::new();
            model.insert("someProperty".into(), "a default value".into());
            if let Value::Object(fields) = data {
                model.extend(fields);
            }
            let id = uuid::Uuid::now_v7().to_string();
            model.insert("id".into(), id.clone().into());
            created
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(id.clone(), model.clone());
            socket.join(format!("MyModels/{id}"));
            let _ = socket
                .to("MyModels")
                .emit("MyModels:serveradd", &[&model])
                .await;
            let _ = ack.send(&(Value::Null, model));
        },
    );
    let read = Arc::clone(&models);
    socket.on(
        "MyModels:read",
        async move |socket: SocketRef, Data(data): Data<Value>, ack: AckSender| {
            let model = id_of(&data).and_then(|id| {
                read.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get(id)
                    .cloned()
            });
            let _ = match model {
                Some(model) => {
                    socket.join(format!("MyModels/{}", id_of(&data).unwrap_or_default()));
                    ack.send(&(Value::Null, model))
                }
                None => ack.send(&(not_found(), Value::Null)),
            };
        },
    );
    let listed = Arc::clone(&models);
    socket.on(
        "MyModels:list",
        async move |socket: SocketRef, ack: AckSender| {
            socket.join("MyModels");
            let all: Vec<_> = listed
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .values()
                .cloned()
                .collect();
            let _ = ack.send(&(Value::Null, all));
        },
    );
    socket.on(
        "MyModels:update",
        async move |socket: SocketRef, Data(data): Data<Value>, ack: AckSender| {
            let updated = id_of(&data).and_then(|id| {
                let mut models = models.lock().unwrap_or_else(PoisonError::into_inner);
                let model = models.get_mut(id)?;
                if let Some(value) = data.get("someProperty") {
                    model.insert("someProperty".into(), value.clone());
                }
                Some(model.clone())
            });
            let Some(model) = updated else {
                let _ = ack.send(&(not_found(), Value::Null));
                return;
            };
            let id = id_of(&data).unwrap_or_default();
            let change = json!({ "id": id, "someProperty": model.get("someProperty") });
            let _ = socket
                .to([format!("MyModels/{id}"), "MyModels".to_owned()])
                .emit(format!("MyModels/{id}:serverchange"), &change)
                .await;
            let _ = ack.send(&(Value::Null, model));
        },
    );
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(3200);
    let (layer, io) = SocketIo::new_layer();
    let models = Models::default();
    // Handlers are set in a middleware, which runs before the CONNECT
    // packet is sent. An async connect handler runs on a task of its own
    // after it, so an event sent at once could arrive before its handler
    // is set and be dropped unanswered.
    let register = move |socket: SocketRef| {
        let models = Arc::clone(&models);
        async move {
            on_connect(socket, models);
            Ok::<(), std::convert::Infallible>(())
        }
    };
    io.ns("/", (async |_: SocketRef| {}).with(register));
    let app = axum::Router::new().layer(layer);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    eprintln!("serving on http://127.0.0.1:{port}");
    axum::serve(listener, app).await
}
