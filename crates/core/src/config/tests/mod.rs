//! Tests of [`load`] as a whole: defaults, overrides, and errors that name the key and the fix;
//! one file per part of the configuration, the fake environment and minimal files shared here.

mod credentials;
mod general;
mod routes;
mod server;

use super::*;

struct FakeEnv(Vec<(String, String)>);
impl Env for FakeEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }
    fn vars(&self) -> Vec<(String, String)> {
        self.0.clone()
    }
    fn read_file(&self, path: &str) -> Result<String, String> {
        if path == "/run/secrets/team" {
            Ok("team-from-file\n".into())
        } else {
            Err("No such file or directory".into())
        }
    }
}
fn env(pairs: &[(&str, &str)]) -> FakeEnv {
    FakeEnv(pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect())
}

const MINIMAL: &str = r#"
    [[tenant]]
    name = "contoso"
    tenant_id = "t1"
    client_id = "c1"
    client_secret = "env:CONTOSO_SECRET"
    [tenant.signl4]
    team_secret = "file:/run/secrets/team"
"#;

fn load_err(text: &str, pairs: &[(&str, &str)]) -> ConfigError {
    load(text, &env(pairs)).unwrap_err()
}
