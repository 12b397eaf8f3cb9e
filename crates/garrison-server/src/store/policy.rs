//! Agent groups and their policies.

use super::query::{get, qerr};
use super::{now_ms, Store};
use crate::error::StoreError;
use crate::model::rfc3339;
use crate::policy::Group;

/// A group's policy as stored (rules and config as JSON text).
#[derive(Debug, Clone)]
pub struct StoredPolicy {
    /// Version.
    pub version: String,
    /// Rules files, JSON.
    pub rules: String,
    /// Agent configuration, JSON.
    pub config: String,
    /// When set, ms.
    pub updated_at: i64,
    /// By whom.
    pub updated_by: String,
}

impl Store {
    /// Every group, by name, with its agent count and policy version.
    pub async fn list_groups(&self) -> Result<Vec<Group>, StoreError> {
        let op = "list groups";
        let rows = sqlx::query(
            "SELECT g.name AS name, g.created_at AS created_at, g.policy_version AS policy_version, \
             g.policy_updated_at AS policy_updated_at, g.policy_updated_by AS policy_updated_by, \
             (SELECT COUNT(*) FROM agents a WHERE a.group_name = g.name AND a.revoked_at IS NULL) AS agents \
             FROM agent_groups g ORDER BY g.name",
        )
        .fetch_all(self.pool())
        .await
        .map_err(qerr(op))?;
        rows.iter()
            .map(|r| {
                Ok(Group {
                    name: get(r, "name", op)?,
                    created_at: rfc3339(get(r, "created_at", op)?),
                    agents: get(r, "agents", op)?,
                    policy_version: get(r, "policy_version", op)?,
                    policy_updated_at: get::<Option<i64>>(r, "policy_updated_at", op)?.map(rfc3339),
                    policy_updated_by: get(r, "policy_updated_by", op)?,
                })
            })
            .collect()
    }

    /// Whether the group exists.
    pub async fn group_exists(&self, name: &str) -> Result<bool, StoreError> {
        let op = "read group";
        let r = sqlx::query("SELECT COUNT(*) AS n FROM agent_groups WHERE name = $1")
            .bind(name)
            .fetch_one(self.pool())
            .await
            .map_err(qerr(op))?;
        Ok(get::<i64>(&r, "n", op)? > 0)
    }

    /// A group's policy: None when there is no such group, Some(None) when it has no policy.
    pub async fn group_policy(
        &self,
        name: &str,
    ) -> Result<Option<Option<StoredPolicy>>, StoreError> {
        let op = "read group policy";
        let row = sqlx::query(
            "SELECT policy_version, policy_rules, policy_config, policy_updated_at, policy_updated_by \
             FROM agent_groups WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(self.pool())
        .await
        .map_err(qerr(op))?;
        let Some(r) = row else { return Ok(None) };
        let version: Option<String> = get(&r, "policy_version", op)?;
        let Some(version) = version else {
            return Ok(Some(None));
        };
        Ok(Some(Some(StoredPolicy {
            version,
            rules: get::<Option<String>>(&r, "policy_rules", op)?.unwrap_or_else(|| "[]".into()),
            config: get::<Option<String>>(&r, "policy_config", op)?.unwrap_or_else(|| "{}".into()),
            updated_at: get::<Option<i64>>(&r, "policy_updated_at", op)?.unwrap_or(0),
            updated_by: get::<Option<String>>(&r, "policy_updated_by", op)?.unwrap_or_default(),
        })))
    }

    /// Sets a group's policy, creating the group when new; answers the version it replaced.
    pub async fn put_group_policy(
        &self,
        name: &str,
        version: &str,
        rules_json: &str,
        config_json: &str,
        by: &str,
    ) -> Result<Option<String>, StoreError> {
        let op = "set group policy";
        let _w = self.write_slot().await;
        let now = now_ms();
        let mut tx = self.pool().begin().await.map_err(qerr(op))?;
        let before = sqlx::query("SELECT policy_version FROM agent_groups WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await
            .map_err(qerr(op))?;
        let before: Option<String> = match before {
            Some(r) => get(&r, "policy_version", op)?,
            None => None,
        };
        sqlx::query(
            "INSERT INTO agent_groups (name, created_at, created_by, policy_version, policy_rules, policy_config, \
             policy_updated_at, policy_updated_by) VALUES ($1, $2, $3, $4, $5, $6, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET policy_version = excluded.policy_version, \
             policy_rules = excluded.policy_rules, policy_config = excluded.policy_config, \
             policy_updated_at = excluded.policy_updated_at, policy_updated_by = excluded.policy_updated_by",
        )
        .bind(name)
        .bind(now)
        .bind(by)
        .bind(version)
        .bind(rules_json)
        .bind(config_json)
        .execute(&mut *tx)
        .await
        .map_err(qerr(op))?;
        tx.commit().await.map_err(qerr(op))?;
        Ok(before)
    }

    /// Moves an agent to a group; answers the group it was in (None: no such agent).
    pub async fn set_agent_group(
        &self,
        id: &str,
        group: &str,
    ) -> Result<Option<String>, StoreError> {
        let op = "set agent group";
        let _w = self.write_slot().await;
        let mut tx = self.pool().begin().await.map_err(qerr(op))?;
        let row = sqlx::query("SELECT group_name FROM agents WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(qerr(op))?;
        let Some(r) = row else {
            tx.rollback().await.map_err(qerr(op))?;
            return Ok(None);
        };
        let before: String = get(&r, "group_name", op)?;
        sqlx::query("UPDATE agents SET group_name = $1 WHERE id = $2")
            .bind(group)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(qerr(op))?;
        tx.commit().await.map_err(qerr(op))?;
        Ok(Some(before))
    }
}
