using ControlPlane.Api.V1;

namespace ControlPlane.Sdk.Clients;

/// <summary>
/// controlplane.v1.PolicyService: per-image routing policies. <see cref="SetPolicyAsync"/> and
/// <see cref="DeletePolicyAsync"/> are admin methods: the platform token is sent with them
/// ("unauthorized" without a valid one). Invalid policies fail with ErrorCode "policy_invalid" and
/// field violations, and change nothing.
/// </summary>
public interface IPolicyClient
{
    /// <summary>Creates or replaces an image's policy (admin); <c>validate_only</c> checks without storing.</summary>
    Task<SetPolicyResponse> SetPolicyAsync(SetPolicyRequest request, CancellationToken cancellationToken = default);

    /// <summary>Reads an image's stored policy; "not_found" when it has none (it is routed round_robin).</summary>
    Task<GetPolicyResponse> GetPolicyAsync(GetPolicyRequest request, CancellationToken cancellationToken = default);

    /// <summary>Lists stored policies by image.</summary>
    Task<ListPoliciesResponse> ListPoliciesAsync(ListPoliciesRequest request, CancellationToken cancellationToken = default);

    /// <summary>Deletes an image's policy (admin).</summary>
    Task<DeletePolicyResponse> DeletePolicyAsync(DeletePolicyRequest request, CancellationToken cancellationToken = default);

    /// <summary>The audit trail of an image's policy, newest first.</summary>
    Task<ListPolicyChangesResponse> ListPolicyChangesAsync(ListPolicyChangesRequest request, CancellationToken cancellationToken = default);
}
