using System.Text;
using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Server;

namespace ControlPlane.Server.Fleet;

/// <summary>
/// controlplane.v1.DataplaneService: the fleet sync view (GET /v1/dataplanes, /v1/dataplanes/{node_id}).
/// On Redis it lists every replica's nodes; while Redis cannot be reached, from memory (FleetView).
/// A node id no node could have (see NodeIdentity) is INVALID_ARGUMENT, not NOT_FOUND; so is a
/// state filter SyncState does not define, which gRPC would otherwise deliver (proto3 enums are open)
/// and REST already refuses, instead of an empty list.
/// </summary>
public sealed class DataplaneService(FleetView fleet)
{
    private const int MaxPageSize = 10_000;

    public async Task<ListDataplanesResponse> ListDataplanes(ListDataplanesRequest request, ServerCallContext context)
    {
        var errors = new List<FieldViolation>();
        if (!Enum.IsDefined(request.State))
        {
            var values = ListDataplanesRequest.Descriptor.FindFieldByNumber(ListDataplanesRequest.StateFieldNumber).EnumType.Values;
            errors.Add(new("state", $"{(int)request.State} is not a value of SyncState; use one of: {string.Join(", ", values.Select(v => v.Name))}"));
        }
        if (request.PageSize is < 0 or > MaxPageSize)
        {
            errors.Add(new("page_size", $"must be between 0 and {MaxPageSize}"));
        }
        var pages = new PageQuery("controlplane.v1.DataplaneService/ListDataplanes", ("state", request.State.ToString()), ("zone", request.Zone));
        var after = PageTokens.Read(request.PageToken, pages, errors);
        if (errors.Count > 0)
        {
            throw RpcErrors.InvalidArgument("invalid_request", errors);
        }
        var pageSize = request.PageSize == 0 ? MaxPageSize : request.PageSize;
        var matches = (await fleet.ListAsync(context.CancellationToken))
            .Where(d => request.State == SyncState.Unspecified || d.State == request.State)
            .Where(d => request.Zone.Length == 0 || d.Node.Zone == request.Zone)
            .Where(d => after is null || string.CompareOrdinal(d.Node.Id, after) > 0)
            .Take(pageSize + 1)
            .ToList();
        var response = new ListDataplanesResponse();
        response.Dataplanes.AddRange(matches.Take(pageSize));
        if (matches.Count > pageSize)
        {
            response.NextPageToken = PageTokens.After(pages, matches[pageSize - 1].Node.Id);
        }
        return response;
    }

    public async Task<GetDataplaneResponse> GetDataplane(GetDataplaneRequest request, ServerCallContext context)
    {
        if (request.NodeId.Length == 0)
        {
            throw RpcErrors.InvalidArgument("invalid_request", [new("node_id", "is required")]);
        }
        if (Discovery.Streams.NodeIdentity.IdProblem(request.NodeId) is { } problem)
        {
            throw RpcErrors.InvalidArgument("invalid_request", [new("node_id", problem)]);
        }
        var status = await fleet.GetAsync(request.NodeId, context.CancellationToken)
            ?? throw RpcErrors.Exception(StatusCode.NotFound, "not_found", $"dataplane node '{request.NodeId}' is not known (never connected, or disconnected longer ago than the retention)");
        return new GetDataplaneResponse { Dataplane = status };
    }

}
