//! The original halo README's example view.
use halo_sdk::prelude::*;

fn my_models() -> View {
    View::new("MyModels")
        .defaults(json!({ "someProperty": "a default value" }))
        .routes([Create, Read, Update, List])
        // Clients may change only `someProperty`.
        .on(Update, |req| {
            let model = req
                .collection()
                .update(req.id()?, req.data(), Some(&["someProperty"]))?;
            req.render(model)
        })
}

halo_sdk::export_view!(my_models);
