//! A MongoDB database of a test's own, on the shared test server or a private one.

use std::time::Duration;

use mongodb::bson::{Document, doc};

use super::{service_env, unique};

/// A test database: its own name on `server`, so tests never see each other's documents.
pub struct Db {
    pub runtime: tokio::runtime::Runtime,
    pub db: mongodb::Database,
    /// `mongodb://host:port/<name>`, as `oms serve --mongo` takes it.
    pub url: String,
}

impl Db {
    pub fn new(server: &str) -> Db {
        let name = unique("oms_test_");
        let url = format!("{server}/{name}");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let client = runtime.block_on(async {
            let mut options = mongodb::options::ClientOptions::parse(&url).await.expect("mongo URL");
            options.server_selection_timeout = Some(Duration::from_secs(3));
            mongodb::Client::with_options(options).expect("client")
        });
        Db { db: client.database(&name), runtime, url }
    }

    /// On the shared server of `scripts/services.sh`; fails loudly when it is not there.
    pub fn shared() -> Db {
        let server = service_env("OMS_TEST_MONGO_URL");
        let db = Db::new(&server);
        let ping = db.runtime.block_on(async { db.db.run_command(doc! { "ping": 1 }).await });
        assert!(
            ping.is_ok(),
            "OMS_TEST_MONGO_URL={server} unreachable ({ping:?}): run `bash scripts/services.sh start`"
        );
        db
    }

    /// Every document of `collection` (`None` while reads fail).
    pub fn all(&self, collection: &str) -> Option<Vec<Document>> {
        self.runtime.block_on(async {
            let mut cursor = self.db.collection::<Document>(collection).find(doc! {}).await.ok()?;
            let mut all = Vec::new();
            while cursor.advance().await.ok()? {
                all.push(cursor.deserialize_current().ok()?);
            }
            Some(all)
        })
    }
}
