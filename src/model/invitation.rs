//! Invitations as the store keeps them.

use serde::{Deserialize, Serialize};

use crate::model::UserType;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum InvitationStatus {
    PendingAcceptance,
    Completed,
}

/// One invitation; its redeem link carries a ticket stored only as a hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invitation {
    pub id: String,
    pub tenant_id: String,
    pub user_id: String,
    pub email: String,
    pub display_name: String,
    pub redirect_url: String,
    pub ticket_hash: String,
    pub status: InvitationStatus,
    pub user_type: UserType,
    pub invited_by: String,
    pub send_message: bool,
    pub message: Option<String>,
    pub cc: Vec<String>,
    pub reset_redemption: bool,
    /// The invitee's language (Graph's `messageLanguage`), for their mails.
    #[serde(default)]
    pub language: Option<String>,
    pub created_at: i64,
    pub written_at_ms: i64,
}
