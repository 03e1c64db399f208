using ControlPlane.Api.V1;
using M = ControlPlane.Sdk.Clients.ControlPlaneMethods;

namespace ControlPlane.Sdk.Clients;

internal sealed class PolicyClient(IControlPlaneInvoker invoker) : IPolicyClient
{
    public Task<SetPolicyResponse> SetPolicyAsync(SetPolicyRequest request, CancellationToken cancellationToken = default) =>
        invoker.UnaryAsync(M.SetPolicy, request, cancellationToken);

    public Task<GetPolicyResponse> GetPolicyAsync(GetPolicyRequest request, CancellationToken cancellationToken = default) =>
        invoker.UnaryAsync(M.GetPolicy, request, cancellationToken);

    public Task<ListPoliciesResponse> ListPoliciesAsync(ListPoliciesRequest request, CancellationToken cancellationToken = default) =>
        invoker.UnaryAsync(M.ListPolicies, request, cancellationToken);

    public Task<DeletePolicyResponse> DeletePolicyAsync(DeletePolicyRequest request, CancellationToken cancellationToken = default) =>
        invoker.UnaryAsync(M.DeletePolicy, request, cancellationToken);

    public Task<ListPolicyChangesResponse> ListPolicyChangesAsync(ListPolicyChangesRequest request, CancellationToken cancellationToken = default) =>
        invoker.UnaryAsync(M.ListPolicyChanges, request, cancellationToken);
}
