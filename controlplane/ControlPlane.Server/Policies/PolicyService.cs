using ControlPlane.Api.V1;
using ControlPlane.Grpc.Server;

namespace ControlPlane.Server.Policies;

/// <summary>
/// controlplane.v1.PolicyService over gRPC (and REST, by JSON transcoding of the same methods).
/// SetPolicy and DeletePolicy are admin-only by their proto option, enforced by the admin interceptor.
/// </summary>
public sealed class PolicyService(PolicyRegistry policies)
{
    public Task<SetPolicyResponse> SetPolicy(SetPolicyRequest request, ServerCallContext context) =>
        policies.SetAsync(request, PolicyCaller.From(context), context.CancellationToken);

    public Task<GetPolicyResponse> GetPolicy(GetPolicyRequest request, ServerCallContext context) =>
        policies.GetAsync(request, context.CancellationToken);

    public Task<ListPoliciesResponse> ListPolicies(ListPoliciesRequest request, ServerCallContext context) =>
        policies.ListAsync(request, context.CancellationToken);

    public Task<DeletePolicyResponse> DeletePolicy(DeletePolicyRequest request, ServerCallContext context) =>
        policies.DeleteAsync(request, PolicyCaller.From(context), context.CancellationToken);

    public Task<ListPolicyChangesResponse> ListPolicyChanges(ListPolicyChangesRequest request, ServerCallContext context) =>
        policies.ListChangesAsync(request, context.CancellationToken);
}
