using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Sdk.Tests.Infrastructure;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Sdk.Tests.Clients;

/// <summary>The typed clients against the real control plane: what a call returns, and how a refusal reaches the caller.</summary>
public sealed class TypedCallTests : IAsyncLifetime
{
    private const string Token = "sdk-typed-call-token";
    private TestControlPlane _host = null!;
    private ControlPlaneClient _client = null!;

    public async ValueTask InitializeAsync()
    {
        _host = await TestControlPlane.StartAsync(platformToken: Token);
        _client = _host.CreateClient(environment: name => name == "PLATFORM_TOKEN" ? Token : null);
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _host.DisposeAsync();
    }

    [Fact]
    public async Task Registry_RegisterHeartbeatListTopologyDeregister()
    {
        var registered = await _client.Registry.RegisterAsync(Instance("i1", 9001)).DefaultTimeout();
        Assert.True(registered.Created);
        Assert.Equal(1, registered.Registered);
        Assert.Equal("healthy", registered.Instance.Status);

        var beat = await _client.Registry.HeartbeatAsync(new HeartbeatRequest { InstanceId = "i1" }).DefaultTimeout();
        Assert.Equal("i1", beat.InstanceId);
        Assert.True(beat.ExpiresAt.ToDateTimeOffset() >= registered.ExpiresAt.ToDateTimeOffset());

        var listed = await _client.Registry.ListServicesAsync(new ListServicesRequest { Image = "img.sdk" }).DefaultTimeout();
        Assert.Equal(["i1"], listed.Instances.Select(i => i.InstanceId));
        var byName = await _client.Registry.GetServiceInstancesAsync(new GetServiceInstancesRequest { Name = "sdk-svc" }).DefaultTimeout();
        Assert.Equal(9001, Assert.Single(byName.Instances).Port);
        var topology = await _client.Registry.GetTopologyAsync(new GetTopologyRequest()).DefaultTimeout();
        var image = Assert.Single(topology.Images);
        Assert.Equal(("img.sdk", "round_robin"), (image.Image, image.Algorithm));

        var drained = await _client.Registry.DrainInstanceAsync(new DrainInstanceRequest { InstanceId = "i1" }).DefaultTimeout();
        Assert.Equal("draining", drained.Instance.Status);
        var gone = await _client.Registry.DeregisterAsync(new DeregisterRequest { InstanceId = "i1" }).DefaultTimeout();
        Assert.True(gone.Deregistered);
        Assert.Empty((await _client.Registry.ListServicesAsync(new ListServicesRequest()).DefaultTimeout()).Instances);
    }

    [Fact]
    public async Task UnknownInstance_IsNotFound_WithTheContractsErrorCode()
    {
        var ex = await Assert.ThrowsAsync<ControlPlaneException>(() => _client.Registry.GetInstanceAsync(new GetInstanceRequest { InstanceId = "nobody" })).DefaultTimeout();

        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        Assert.Equal("not_found", ex.ErrorCode);
        Assert.Equal("controlplane.v1.RegistryService.GetInstance", ex.Method);
        Assert.Equal(1, ex.Attempts); // NOT_FOUND is an answer, not a reason to retry
        Assert.Single(_host.Calls.Of("GetInstance"));
    }

    [Fact]
    public async Task InvalidRegistration_CarriesFieldViolations_AndStoresNothing()
    {
        var ex = await Assert.ThrowsAsync<ControlPlaneException>(() => _client.Registry.RegisterAsync(Instance("i2", 0))).DefaultTimeout();

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains(ex.FieldViolations, v => v.Field == "port");
        Assert.Empty((await _client.Registry.ListServicesAsync(new ListServicesRequest()).DefaultTimeout()).Instances);
    }

    [Fact]
    public async Task Policies_SetWithTheToken_ReadBack_Audited_PreviewedAndDeleted()
    {
        await _client.Registry.RegisterAsync(Instance("p1", 9101)).DefaultTimeout();
        await _client.Registry.RegisterAsync(Instance("p2", 9102)).DefaultTimeout();

        var set = await _client.Policies.SetPolicyAsync(new SetPolicyRequest { Image = "img.sdk", Algorithm = "weighted_rr", Weights = { ["p1"] = 2, ["p2"] = 1 } }).DefaultTimeout();
        Assert.True(set.Ok);
        var read = await _client.Policies.GetPolicyAsync(new GetPolicyRequest { Image = "img.sdk" }).DefaultTimeout();
        Assert.Equal("weighted_rr", read.Policy.Algorithm);
        Assert.Equal(2, read.Policy.Weights["p1"]);
        Assert.Single((await _client.Policies.ListPoliciesAsync(new ListPoliciesRequest()).DefaultTimeout()).Policies);
        var preview = await _client.Routes.PreviewRouteAsync(new PreviewRouteRequest { Service = new ServiceSelector { Image = "img.sdk" }, SimulateRequests = 300 }).DefaultTimeout();
        Assert.Equal(200, preview.Distribution["p1"]);
        Assert.Equal(100, preview.Distribution["p2"]);
        var changes = await _client.Policies.ListPolicyChangesAsync(new ListPolicyChangesRequest { Image = "img.sdk" }).DefaultTimeout();
        Assert.Equal("set", Assert.Single(changes.Changes).Action);

        var deleted = await _client.Policies.DeletePolicyAsync(new DeletePolicyRequest { Image = "img.sdk" }).DefaultTimeout();
        Assert.True(deleted.Deleted);
        var ex = await Assert.ThrowsAsync<ControlPlaneException>(() => _client.Policies.GetPolicyAsync(new GetPolicyRequest { Image = "img.sdk" })).DefaultTimeout();
        Assert.Equal("not_found", ex.ErrorCode);
    }

    [Fact]
    public async Task InvalidPolicy_IsPolicyInvalid_WithFieldViolations()
    {
        var ex = await Assert.ThrowsAsync<ControlPlaneException>(() =>
            _client.Policies.SetPolicyAsync(new SetPolicyRequest { Image = "img.sdk", Algorithm = "random_pick" })).DefaultTimeout();

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Equal("policy_invalid", ex.ErrorCode);
        Assert.Contains(ex.FieldViolations, v => v.Field == "algorithm");
    }

    [Fact]
    public async Task AdminCall_WithoutAToken_IsUnauthorized_AndAWrongOneToo()
    {
        using var anonymous = _host.CreateClient();
        var missing = await Assert.ThrowsAsync<ControlPlaneException>(() =>
            anonymous.Policies.SetPolicyAsync(new SetPolicyRequest { Image = "img.sdk", Algorithm = "round_robin" })).DefaultTimeout();
        Assert.Equal((StatusCode.Unauthenticated, "unauthorized"), (missing.StatusCode, missing.ErrorCode));

        using var wrong = _host.CreateClient(environment: name => name == "PLATFORM_TOKEN" ? "not-the-token" : null);
        var refused = await Assert.ThrowsAsync<ControlPlaneException>(() =>
            wrong.Policies.SetPolicyAsync(new SetPolicyRequest { Image = "img.sdk", Algorithm = "round_robin" })).DefaultTimeout();
        Assert.Equal((StatusCode.PermissionDenied, "unauthorized"), (refused.StatusCode, refused.ErrorCode));
        Assert.DoesNotContain("not-the-token", refused.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fleet_ListsNoNodeYet_AndAnUnknownNodeIsNotFound()
    {
        Assert.Empty((await _client.Dataplanes.ListDataplanesAsync(new ListDataplanesRequest()).DefaultTimeout()).Dataplanes);
        var ex = await Assert.ThrowsAsync<ControlPlaneException>(() => _client.Dataplanes.GetDataplaneAsync(new GetDataplaneRequest { NodeId = "node-x" })).DefaultTimeout();
        Assert.Equal("not_found", ex.ErrorCode);
    }

    [Fact]
    public async Task Cancelled_IsOperationCanceled_NotAControlPlaneError()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _client.Registry.GetTopologyAsync(new GetTopologyRequest(), cts.Token)).DefaultTimeout();
    }

    internal static RegisterRequest Instance(string id, int port, string image = "img.sdk", int ttl = 30) => new()
    {
        Name = "sdk-svc",
        Image = image,
        InstanceId = id,
        Host = "127.0.0.1",
        Port = port,
        TtlSeconds = ttl,
        Metadata = new Struct { Fields = { ["weight"] = Value.ForNumber(1) } },
    };
}
