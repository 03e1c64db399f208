namespace ControlPlane.Agents;

/// <summary>
/// The error codes of <see cref="AgentError.Code"/>: the reference's (§4) first, then the ones the
/// agents add. Codes the control plane sends (its <c>ErrorInfo</c> reason) pass through unchanged.
/// </summary>
public static class AgentErrorCodes
{
    /// <summary>A dependency is not ready (a /readyz answered something other than ok).</summary>
    public const string NotReady = "not_ready";

    /// <summary>The platform token is missing or does not match.</summary>
    public const string Unauthorized = "unauthorized";

    /// <summary>The service, image, instance or policy does not exist.</summary>
    public const string NotFound = "not_found";

    /// <summary>A policy failed validation (algorithm, weights, sticky key).</summary>
    public const string PolicyInvalid = "policy_invalid";

    /// <summary>The control plane, a dataplane or an endpoint did not answer (in time).</summary>
    public const string BackendUnreachable = "backend_unreachable";

    /// <summary>The action needs a human's approval (<c>--approve</c>, <c>approve: true</c>) and changed nothing.</summary>
    public const string ApprovalRequired = "approval_required";

    /// <summary>The input is malformed or out of range; nothing was sent.</summary>
    public const string InvalidRequest = "invalid_request";

    /// <summary>The configuration (environment, flags, token file) is unusable.</summary>
    public const string ConfigInvalid = "config_invalid";

    /// <summary>sd-agent: an instance id is registered (or listed twice) with another name or image.</summary>
    public const string DuplicateInstance = "duplicate_instance";

    /// <summary>A change was sent, but reading it back showed something else.</summary>
    public const string ConfirmFailed = "confirm_failed";

    /// <summary>billing-export-agent: the export does not match contracts/lb_billing_export.schema.json or its checksum.</summary>
    public const string ExportInvalid = "export_invalid";

    /// <summary>billing-export-agent: every attempt to export and ship failed (an alert was sent).</summary>
    public const string ExportFailed = "export_failed";

    /// <summary>trafficgen-agent: the target environment is production and <c>allow_prod</c> was not given.</summary>
    public const string ProductionRefused = "production_refused";

    /// <summary>chaos-agent: the image has no other live instance to fail over to.</summary>
    public const string NoFailoverTarget = "no_failover_target";

    /// <summary>chaos-agent: traffic to the image already failed before anything was changed (nothing was).</summary>
    public const string BaselineFailed = "baseline_failed";

    /// <summary>chaos-agent: traffic failed, or the stats did not show the failover.</summary>
    public const string FailoverFailed = "failover_failed";

    /// <summary>chaos-agent: the instance is still heartbeated by another owner, so it cannot expire.</summary>
    public const string StillHeartbeated = "still_heartbeated";

    /// <summary>trafficgen-agent: every request was answered with an error, of more than one kind (the statuses are in the result).</summary>
    public const string RequestsFailed = "requests_failed";

    /// <summary>The action was cancelled before it finished.</summary>
    public const string Cancelled = "cancelled";

    /// <summary>
    /// A code the control plane sent, as the agents document it: its <c>duplicate_instance_id</c> (an id
    /// registered under another name or image) is the same condition as <see cref="DuplicateInstance"/>.
    /// </summary>
    public static string FromServer(string code) => code == "duplicate_instance_id" ? DuplicateInstance : code;
}
