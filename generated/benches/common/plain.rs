//! The baseline of the wire benches: plain serde types with the same fields as the generated
//! `Runner` messages, as one would write them by hand: `#[derive(Serialize, Deserialize)]`,
//! timestamps as `chrono::DateTime<Utc>` (chrono's serde), durations and bytes kept as their JSON
//! strings, enums as derived serde enums, and the same flattened map for the fields the reference
//! does not describe.
#![allow(dead_code)]

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

type Time = chrono::DateTime<chrono::Utc>;

macro_rules! plain_enum {
    ($name:ident { $($variant:ident = $wire:literal),* $(,)? }) => {
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $wire)] $variant,)*
        }
    };
}

plain_enum!(Principal { Unspecified = "PRINCIPAL_UNSPECIFIED", Account = "PRINCIPAL_ACCOUNT", User = "PRINCIPAL_USER", Runner = "PRINCIPAL_RUNNER", Environment = "PRINCIPAL_ENVIRONMENT", ServiceAccount = "PRINCIPAL_SERVICE_ACCOUNT", RunnerManager = "PRINCIPAL_RUNNER_MANAGER" });
plain_enum!(RunnerKind { Unspecified = "RUNNER_KIND_UNSPECIFIED", Local = "RUNNER_KIND_LOCAL", Remote = "RUNNER_KIND_REMOTE", LocalConfiguration = "RUNNER_KIND_LOCAL_CONFIGURATION" });
plain_enum!(RunnerProvider { Unspecified = "RUNNER_PROVIDER_UNSPECIFIED", AwsEc2 = "RUNNER_PROVIDER_AWS_EC2", LinuxHost = "RUNNER_PROVIDER_LINUX_HOST", DesktopMac = "RUNNER_PROVIDER_DESKTOP_MAC", Managed = "RUNNER_PROVIDER_MANAGED", Gcp = "RUNNER_PROVIDER_GCP", DevAgent = "RUNNER_PROVIDER_DEV_AGENT" });
plain_enum!(LogLevel { Unspecified = "LOG_LEVEL_UNSPECIFIED", Debug = "LOG_LEVEL_DEBUG", Info = "LOG_LEVEL_INFO", Warn = "LOG_LEVEL_WARN", Error = "LOG_LEVEL_ERROR" });
plain_enum!(RunnerReleaseChannel { Unspecified = "RUNNER_RELEASE_CHANNEL_UNSPECIFIED", Stable = "RUNNER_RELEASE_CHANNEL_STABLE", Latest = "RUNNER_RELEASE_CHANNEL_LATEST" });
plain_enum!(RunnerPhase { Unspecified = "RUNNER_PHASE_UNSPECIFIED", Created = "RUNNER_PHASE_CREATED", Inactive = "RUNNER_PHASE_INACTIVE", Active = "RUNNER_PHASE_ACTIVE", Deleting = "RUNNER_PHASE_DELETING", Deleted = "RUNNER_PHASE_DELETED", Degraded = "RUNNER_PHASE_DEGRADED" });
plain_enum!(RunnerVariant { Unspecified = "RUNNER_VARIANT_UNSPECIFIED", Standard = "RUNNER_VARIANT_STANDARD", Enterprise = "RUNNER_VARIANT_ENTERPRISE" });
plain_enum!(RunnerCapability { Unspecified = "RUNNER_CAPABILITY_UNSPECIFIED", FetchLocalScmIntegrations = "RUNNER_CAPABILITY_FETCH_LOCAL_SCM_INTEGRATIONS", SecretContainerRegistry = "RUNNER_CAPABILITY_SECRET_CONTAINER_REGISTRY", AgentExecution = "RUNNER_CAPABILITY_AGENT_EXECUTION", AllowEnvTokenPopulation = "RUNNER_CAPABILITY_ALLOW_ENV_TOKEN_POPULATION", DefaultDevContainerImage = "RUNNER_CAPABILITY_DEFAULT_DEV_CONTAINER_IMAGE", EnvironmentSnapshot = "RUNNER_CAPABILITY_ENVIRONMENT_SNAPSHOT", PrebuildsBeforeSnapshotTrigger = "RUNNER_CAPABILITY_PREBUILDS_BEFORE_SNAPSHOT_TRIGGER", ListScmOrganizations = "RUNNER_CAPABILITY_LIST_SCM_ORGANIZATIONS", CheckRepositoryAccess = "RUNNER_CAPABILITY_CHECK_REPOSITORY_ACCESS" });

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct GetRunnerRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runner_id: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct GetRunnerResponse {
    pub runner: Runner,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ListRunnersResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pagination: Option<PaginationResponse>,
    pub runners: Vec<Runner>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PaginationResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Runner {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creator: Option<Subject>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<RunnerKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<RunnerProvider>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runner_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runner_manager_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec: Option<RunnerSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<RunnerStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Time>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Subject {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principal>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RunnerSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub configuration: Option<RunnerConfiguration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desired_phase: Option<RunnerPhase>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<RunnerVariant>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RunnerConfiguration {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_update: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub devcontainer_image_cache_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_level: Option<LogLevel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<MetricsConfiguration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_channel: Option<RunnerReleaseChannel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_window: Option<UpdateWindow>,
    #[serde(flatten)]
    pub undocumented: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MetricsConfiguration {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed_metrics_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(flatten)]
    pub undocumented: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct UpdateWindow {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_hour: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_hour: Option<i32>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RunnerStatus {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub additional_info: Vec<FieldValue>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<RunnerCapability>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway_info: Option<GatewayInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<RunnerPhase>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub support_bundle_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_details: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FieldValue {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct GatewayInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<Gateway>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Gateway {
    pub name: String,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}
