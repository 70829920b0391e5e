//! Scaffolding view projects in each language.

use super::*;

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

fn canonical_sdk(lang: Lang) -> String {
    let sdk = lang.built_with_sdk();
    let sdk = sdk.canonicalize().expect("the SDK is in the repository");
    sdk.display().to_string()
}

#[test]
fn creates_a_crate_named_after_the_view() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = create(tmp.path(), "shopping-list", Lang::Rust, None).expect("created");
    assert_eq!(dir, tmp.path().join("shopping-list"));
    for (file, _) in RUST_FILES {
        assert!(dir.join(file).is_file(), "{file}");
    }
    let lib = read(dir.join("src/lib.rs"));
    assert!(lib.contains(r#"View::new("ShoppingList")"#), "{lib}");
    assert!(lib.contains("fn shopping_list() -> View"), "{lib}");
    assert!(
        lib.contains("halo_sdk::export_view!(shopping_list);"),
        "{lib}"
    );
    assert!(lib.contains("use halo_sdk::testing;"), "{lib}");
    assert!(!lib.contains("{{"), "every placeholder is filled:\n{lib}");

    let manifest: toml::Table = read(dir.join("Cargo.toml")).parse().expect("TOML");
    assert_eq!(manifest["package"]["name"].as_str(), Some("shopping-list"));
    assert_eq!(manifest["package"]["edition"].as_str(), Some("2024"));
    assert!(manifest.contains_key("workspace"), "a workspace of its own");
    assert_eq!(
        manifest["lib"]["crate-type"].as_array().map(Vec::len),
        Some(1)
    );
    let sdk_path = manifest["dependencies"]["halo-sdk"]["path"].as_str();
    assert_eq!(sdk_path, Some(canonical_sdk(Lang::Rust).as_str()));
    assert_eq!(
        manifest["profile"]["release"]["panic"].as_str(),
        Some("abort")
    );

    let config: toml::Table = read(dir.join(".cargo/config.toml")).parse().expect("TOML");
    assert_eq!(config["build"]["target"].as_str(), Some("wasm32-wasip2"));
    let readme = read(dir.join("README.md"));
    assert!(
        readme.contains("cargo test --target host-tuple"),
        "{readme}"
    );
    assert!(readme.contains("release/shopping_list.wasm"), "{readme}");
    assert!(read(dir.join(".gitignore")).starts_with("target/\n"));
}

#[test]
fn creates_a_js_package_that_depends_on_the_sdk() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = create(tmp.path(), "shopping-list", Lang::Js, None).expect("created");
    for (file, _) in JS_FILES {
        assert!(dir.join(file).is_file(), "{file}");
    }
    let manifest: serde_json::Value =
        serde_json::from_str(&read(dir.join("package.json"))).expect("JSON");
    assert_eq!(manifest["name"], "shopping-list");
    assert_eq!(manifest["type"], "module");
    assert_eq!(
        manifest["dependencies"]["halo-sdk"],
        format!("file:{}", canonical_sdk(Lang::Js))
    );
    assert_eq!(
        manifest["scripts"]["build"],
        "halo-view-build view.js -o shopping-list.wasm"
    );
    let view = read(dir.join("view.js"));
    assert!(view.contains("new View('ShoppingList')"), "{view}");
    assert!(read(dir.join("view.test.js")).contains("models('ShoppingList')"));
    assert!(read(dir.join(".gitignore")).starts_with("node_modules/\n"));
    for (file, _) in JS_FILES {
        assert!(!read(dir.join(file)).contains("{{"), "{file}");
    }
}

#[test]
fn creates_a_python_module_named_after_the_project() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = create(tmp.path(), "shopping-list", Lang::Py, None).expect("created");
    let view = read(dir.join("shopping_list.py"));
    assert!(view.contains(r#"View("ShoppingList")"#), "{view}");
    let test = read(dir.join("test_shopping_list.py"));
    assert!(test.contains("from shopping_list import view"), "{test}");
    let readme = read(dir.join("README.md"));
    assert!(readme.contains(&canonical_sdk(Lang::Py)), "{readme}");
    assert!(
        readme.contains("halo-view-build-py shopping_list.py"),
        "{readme}"
    );
    for file in ["shopping_list.py", "test_shopping_list.py", "README.md"] {
        assert!(!read(dir.join(file)).contains("{{"), "{file}");
    }
}

#[test]
fn names_that_cannot_be_crates_are_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let long = "a".repeat(65);
    for bad in [
        "",
        "My-View",
        "1st",
        "-x",
        "_x",
        "a b",
        "a.b",
        "a/b",
        "../x",
        "über",
        "fn",
        "self",
        "std",
        "test",
        "halo-sdk",
        "serde_json",
        &long,
    ] {
        match create(tmp.path(), bad, Lang::Rust, None) {
            Err(ScaffoldError::Name { name, .. }) => assert_eq!(name, bad),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    let left: Vec<_> = std::fs::read_dir(tmp.path()).expect("read").collect();
    assert!(left.is_empty(), "nothing written: {left:?}");
    assert!(create(tmp.path(), &"a".repeat(64), Lang::Rust, None).is_ok());
}

#[test]
fn each_language_refuses_its_own_clashes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for (bad, lang) in [
        ("class", Lang::Py),
        ("halo-sdk", Lang::Py),
        ("json", Lang::Py),
        ("halo-sdk", Lang::Js),
    ] {
        assert!(
            matches!(
                create(tmp.path(), bad, lang, None),
                Err(ScaffoldError::Name { .. })
            ),
            "{bad} in {lang:?}"
        );
    }
    // Names only Rust reserves.
    assert!(create(tmp.path(), "fn", Lang::Py, None).is_ok());
    assert!(create(tmp.path(), "class", Lang::Js, None).is_ok());
}

#[test]
fn an_existing_folder_is_left_alone() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("taken");
    std::fs::create_dir(&dir).expect("mkdir");
    std::fs::write(dir.join("keep.txt"), "mine").expect("write");
    let err = create(tmp.path(), "taken", Lang::Js, None).expect_err("refused");
    assert!(
        matches!(&err, ScaffoldError::Exists(path) if *path == dir),
        "{err:?}"
    );
    assert!(err.to_string().contains("exists already"), "{err}");
    assert_eq!(read(dir.join("keep.txt")), "mine");
    assert!(!dir.join("package.json").exists());
    // A file of that name is in the way too.
    std::fs::write(tmp.path().join("file"), "").expect("write");
    assert!(matches!(
        create(tmp.path(), "file", Lang::Rust, None),
        Err(ScaffoldError::Exists(_))
    ));
}

#[test]
fn the_sdk_must_be_halo_sdk_of_the_language() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let missing = tmp.path().join("nowhere");
    let err = create(tmp.path(), "a", Lang::Rust, Some(&missing)).expect_err("refused");
    assert!(matches!(err, ScaffoldError::Sdk { .. }), "{err:?}");
    assert!(err.to_string().contains("--sdk"), "{err}");
    // The plugins workspace is not the SDK, nor is the Rust SDK a JS one.
    let plugins = Lang::Rust.built_with_sdk().join("..");
    let err = create(tmp.path(), "a", Lang::Rust, Some(&plugins)).expect_err("refused");
    assert!(matches!(err, ScaffoldError::Sdk { .. }), "{err:?}");
    let rust_sdk = Lang::Rust.built_with_sdk();
    let err = create(tmp.path(), "a", Lang::Js, Some(&rust_sdk)).expect_err("refused");
    assert!(err.to_string().contains("plugins/sdk-js"), "{err}");
    assert!(!tmp.path().join("a").exists());
    // A relative path is taken from the working directory (the host
    // crate's, in tests), as a shell user means it, and stored absolute.
    let dir = create(
        tmp.path(),
        "b",
        Lang::Rust,
        Some(Path::new("../plugins/sdk")),
    )
    .expect("created");
    let manifest = read(dir.join("Cargo.toml"));
    assert!(
        manifest.contains(&format!("{:?}", canonical_sdk(Lang::Rust))),
        "{manifest}"
    );
}

#[test]
fn a_parent_folder_is_created_when_missing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let parent = tmp.path().join("deep/er");
    assert_eq!(
        create(&parent, "v2_items", Lang::Rust, None).ok(),
        Some(parent.join("v2_items"))
    );
    let lib = read(parent.join("v2_items/src/lib.rs"));
    assert!(lib.contains(r#"View::new("V2Items")"#), "{lib}");
}

#[test]
fn names_convert_between_cases() {
    assert_eq!(names::pascal_case("todos"), "Todos");
    assert_eq!(names::pascal_case("my-view_2"), "MyView2");
    assert_eq!(names::pascal_case("a--b"), "AB");
    assert_eq!(names::snake_case("my-view"), "my_view");
}
