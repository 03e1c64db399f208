using ControlPlane.Api.V1;
using ControlPlane.Grpc.Client;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace ControlPlane.Sdk.Clients;

/// <summary>The controlplane.v1 methods, made from their descriptors (a renamed or retyped method fails here, at type load).</summary>
internal static class ControlPlaneMethods
{
    public static readonly ServiceDescriptor RegistryService = RegistryReflection.Descriptor.Services[0];
    public static readonly ServiceDescriptor PolicyService = PolicyReflection.Descriptor.Services[0];
    public static readonly ServiceDescriptor RouteService = RouteReflection.Descriptor.Services[0];
    public static readonly ServiceDescriptor DataplaneService = DataplanesReflection.Descriptor.Services[0];
    public static readonly ServiceDescriptor DiscoveryService = DiscoveryReflection.Descriptor.Services[0];
    public static readonly ServiceDescriptor StatsService = StatsReflection.Descriptor.Services[0];
    public static readonly ServiceDescriptor BillingService = BillingReflection.Descriptor.Services[0];
    public static readonly ServiceDescriptor LoadReportService = LoadReportReflection.Descriptor.Services[0];

    public static readonly Method<RegisterRequest, RegisterResponse> Register = M<RegisterRequest, RegisterResponse>(RegistryService, "Register");
    public static readonly Method<HeartbeatRequest, HeartbeatResponse> Heartbeat = M<HeartbeatRequest, HeartbeatResponse>(RegistryService, "Heartbeat");
    public static readonly Method<HeartbeatStreamRequest, HeartbeatStreamResponse> HeartbeatStream = M<HeartbeatStreamRequest, HeartbeatStreamResponse>(RegistryService, "HeartbeatStream");
    public static readonly Method<DeregisterRequest, DeregisterResponse> Deregister = M<DeregisterRequest, DeregisterResponse>(RegistryService, "Deregister");
    public static readonly Method<DrainInstanceRequest, DrainInstanceResponse> DrainInstance = M<DrainInstanceRequest, DrainInstanceResponse>(RegistryService, "DrainInstance");
    public static readonly Method<GetInstanceRequest, GetInstanceResponse> GetInstance = M<GetInstanceRequest, GetInstanceResponse>(RegistryService, "GetInstance");
    public static readonly Method<ListServicesRequest, ListServicesResponse> ListServices = M<ListServicesRequest, ListServicesResponse>(RegistryService, "ListServices");
    public static readonly Method<GetServiceInstancesRequest, GetServiceInstancesResponse> GetServiceInstances = M<GetServiceInstancesRequest, GetServiceInstancesResponse>(RegistryService, "GetServiceInstances");
    public static readonly Method<GetTopologyRequest, GetTopologyResponse> GetTopology = M<GetTopologyRequest, GetTopologyResponse>(RegistryService, "GetTopology");

    public static readonly Method<SetPolicyRequest, SetPolicyResponse> SetPolicy = M<SetPolicyRequest, SetPolicyResponse>(PolicyService, "SetPolicy");
    public static readonly Method<GetPolicyRequest, GetPolicyResponse> GetPolicy = M<GetPolicyRequest, GetPolicyResponse>(PolicyService, "GetPolicy");
    public static readonly Method<ListPoliciesRequest, ListPoliciesResponse> ListPolicies = M<ListPoliciesRequest, ListPoliciesResponse>(PolicyService, "ListPolicies");
    public static readonly Method<DeletePolicyRequest, DeletePolicyResponse> DeletePolicy = M<DeletePolicyRequest, DeletePolicyResponse>(PolicyService, "DeletePolicy");
    public static readonly Method<ListPolicyChangesRequest, ListPolicyChangesResponse> ListPolicyChanges = M<ListPolicyChangesRequest, ListPolicyChangesResponse>(PolicyService, "ListPolicyChanges");

    public static readonly Method<PreviewRouteRequest, PreviewRouteResponse> PreviewRoute = M<PreviewRouteRequest, PreviewRouteResponse>(RouteService, "PreviewRoute");

    public static readonly Method<ListDataplanesRequest, ListDataplanesResponse> ListDataplanes = M<ListDataplanesRequest, ListDataplanesResponse>(DataplaneService, "ListDataplanes");
    public static readonly Method<GetDataplaneRequest, GetDataplaneResponse> GetDataplane = M<GetDataplaneRequest, GetDataplaneResponse>(DataplaneService, "GetDataplane");

    public static readonly Method<StreamResourcesRequest, StreamResourcesResponse> StreamResources = M<StreamResourcesRequest, StreamResourcesResponse>(DiscoveryService, "StreamResources");
    public static readonly Method<DeltaResourcesRequest, DeltaResourcesResponse> DeltaResources = M<DeltaResourcesRequest, DeltaResourcesResponse>(DiscoveryService, "DeltaResources");

    public static readonly Method<GetImageStatsRequest, GetImageStatsResponse> GetImageStats = M<GetImageStatsRequest, GetImageStatsResponse>(StatsService, "GetImageStats");
    public static readonly Method<GetInstanceStatsRequest, GetInstanceStatsResponse> GetInstanceStats = M<GetInstanceStatsRequest, GetInstanceStatsResponse>(StatsService, "GetInstanceStats");

    public static readonly Method<ExportBillingRequest, ExportBillingResponse> ExportBilling = M<ExportBillingRequest, ExportBillingResponse>(BillingService, "ExportBilling");

    public static readonly Method<ReportLoadRequest, ReportLoadResponse> ReportLoad = M<ReportLoadRequest, ReportLoadResponse>(LoadReportService, "ReportLoad");

    private static Method<TRequest, TResponse> M<TRequest, TResponse>(ServiceDescriptor service, string name)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        new(service.FindMethodByName(name) ?? throw new InvalidOperationException($"{service.FullName} has no method {name}."));
}
