using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.LoadBalancing;
using ControlPlane.Server.Policies;
using ControlPlane.Server.Registry;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Storage;

namespace ControlPlane.Server.Routing;

/// <summary>
/// Answers which instance a request for an image would reach, and why, with the load-balancing
/// library the dataplane nodes run: the image's EndpointSet as nodes receive it, its stored policy
/// (round_robin without one), and a balancer of the preview's own, so no real balancer moves.
/// The preview's balancer starts its rotation at the first endpoint (nodes start at a random one),
/// and it has no load or passive-health data: least_conn sees every endpoint idle and nothing is
/// ejected. Transport-neutral: <see cref="RouteService"/> (gRPC, and REST by transcoding) calls it.
/// </summary>
public sealed class RoutePreviewer
{
    public const string InvalidRequest = "invalid_request";

    /// <summary>Reason of UNAVAILABLE: the image has instances, but none can take traffic.</summary>
    public const string NoRoutableEndpoint = "no_routable_endpoint";

    public const int MaxSimulatedRequests = 10_000;
    public const int MaxStickyValueLength = 4096;
    public const int MaxMapEntries = 256;

    private readonly IRegistryStore _registry;
    private readonly IPolicyStore _policies;
    private readonly LoadBalancingPolicies _balancers;
    private readonly RouteMetrics _metrics;
    private readonly Random _random;
    private readonly object _randomLock = new(); // Random instances are not thread-safe (Random.Shared is, but one path is simpler)

    /// <param name="random">Seeds each preview's balancer (least_conn's random choices); null: <see cref="Random.Shared"/>.</param>
    public RoutePreviewer(IRegistryStore registry, IPolicyStore policies, LoadBalancingPolicies balancers, RouteMetrics metrics, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(policies);
        ArgumentNullException.ThrowIfNull(balancers);
        ArgumentNullException.ThrowIfNull(metrics);
        _registry = registry;
        _policies = policies;
        _balancers = balancers;
        _metrics = metrics;
        _random = random ?? Random.Shared;
    }

    public async Task<PreviewRouteResponse> PreviewAsync(PreviewRouteRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        try
        {
            Validate(request);
        }
        catch (RpcException)
        {
            _metrics.Preview("invalid");
            throw;
        }
        var image = request.Service.Image;
        var name = request.Service.Name;
        var records = await _registry.ListAsync(new InstanceQuery(Image: image), cancellationToken).ConfigureAwait(false);
        var considered = name.Length == 0 ? records : records.Where(r => r.Spec.Name == name).ToList();
        if (considered.Count == 0)
        {
            _metrics.Preview("not_found");
            throw RpcErrors.Exception(StatusCode.NotFound, "not_found",
                name.Length == 0 ? $"image '{image}' has no registered instance" : $"image '{image}' has no registered instance of service '{name}'",
                new Dictionary<string, string> { ["image"] = image });
        }
        // The version is the one nodes hold (the whole image); the name filter narrows the choice only
        // (route.proto), and the reason says when nodes, which do not filter, could choose otherwise.
        // Instances that are all expired still make a set (with no endpoints: nodes answer 503), so
        // this answers as the nodes do: UNAVAILABLE, no_routable_endpoint.
        var endpoints = EndpointSetBuilder.Build(image, considered)!;
        var pushed = name.Length == 0 ? endpoints : EndpointSetBuilder.Build(image, records)!;
        if (endpoints.Endpoints.Count == 0)
        {
            throw Unavailable(image, $"image '{image}' has {considered.Count} registered instances but none is live (all expired)");
        }

        var policy = await _policies.GetAsync(image, cancellationToken).ConfigureAwait(false);
        long seed;
        lock (_randomLock)
        {
            seed = _random.NextInt64();
        }
        var balancer = _balancers.Build(endpoints, policy, new BalancerOptions { RandomizeStart = false, Random = new Random(unchecked((int)seed)) });

        var stickyKey = policy?.StickyKey ?? "";
        var (sticky, source) = StickyOf(request, stickyKey);
        var hashed = balancer.Algorithm == LoadBalancingAlgorithms.ConsistentHash ? sticky : "";
        var context = new PickContext(hashed);
        var explanation = balancer.Explain(context);
        if (explanation.Endpoint is null)
        {
            throw Unavailable(image, explanation.Reason);
        }

        var response = new PreviewRouteResponse
        {
            Image = image,
            Algorithm = balancer.Algorithm,
            Endpoint = explanation.Endpoint.Endpoint.Clone(),
            Reason = explanation.Reason + Describe(balancer.Algorithm, stickyKey, hashed, source)
                + NodesDoNotFilter(request.Service, endpoints, pushed, policy, hashed, explanation.Endpoint),
            StickyKey = stickyKey,
            StickyValue = hashed,
            PolicyVersion = policy?.Version ?? "",
            EndpointsVersion = ResourceVersion.Of(pushed),
        };
        foreach (var candidate in explanation.Candidates)
        {
            response.Candidates.Add(new RouteCandidate
            {
                InstanceId = candidate.Endpoint.InstanceId,
                Status = candidate.Endpoint.Endpoint.Status,
                Weight = candidate.Endpoint.Weight,
                Eligible = candidate.Eligible,
                ExcludedReason = candidate.ExcludedReason ?? "",
            });
        }
        if (request.SimulateRequests > 1)
        {
            var counts = new long[balancer.Endpoints.Count];
            counts[explanation.Endpoint.Index]++;
            for (var i = 1; i < request.SimulateRequests; i++)
            {
                if (balancer.Pick(context) is { } picked)
                {
                    counts[picked.Index]++;
                }
            }
            foreach (var endpoint in balancer.Endpoints)
            {
                if (counts[endpoint.Index] > 0)
                {
                    response.Distribution[endpoint.InstanceId] = counts[endpoint.Index];
                }
            }
        }
        _metrics.Preview("ok");
        return response;
    }

    private static (string Value, string Source) StickyOf(PreviewRouteRequest request, string stickyKey)
    {
        if (request.StickyValue.Length > 0)
        {
            return (request.StickyValue, "sticky_value");
        }
        var found = StickyValue.Find(stickyKey, new DictionaryStickySource(request.Headers, request.Cookies, request.Query));
        return (found.Value, found.Source.ToString().ToLowerInvariant());
    }

    private static string Describe(string algorithm, string stickyKey, string hashed, string source)
    {
        if (algorithm != LoadBalancingAlgorithms.ConsistentHash)
        {
            return "";
        }
        return hashed.Length > 0
            ? source == "sticky_value" ? "; sticky value given in the request" : $"; sticky value from {source} '{stickyKey}'"
            : $"; no header, cookie or query parameter '{stickyKey}' was given";
    }

    /// <summary>
    /// route.proto's <c>service.name</c> narrows the preview's choice to that service's instances, but
    /// nodes route by image alone, over every endpoint of the image: when the image has endpoints of
    /// other services, the reason says so, and for a sticky value names the instance nodes would pick.
    /// </summary>
    private string NodesDoNotFilter(ServiceSelector service, EndpointSet considered, EndpointSet pushed, RoutingPolicy? policy, string hashed, BalancerEndpoint chosen)
    {
        if (service.Name.Length == 0 || pushed.Endpoints.Count == considered.Endpoints.Count)
        {
            return "";
        }
        var note = $"; only service '{service.Name}' was considered ({considered.Endpoints.Count} of the {pushed.Endpoints.Count} endpoints of image '{service.Image}'), "
            + $"but nodes do not filter by service: they route over all {pushed.Endpoints.Count}";
        if (hashed.Length > 0 && _balancers.Build(pushed, policy, new BalancerOptions { RandomizeStart = false, Random = new Random(0) }).Pick(new PickContext(hashed)) is { } owner)
        {
            note += owner.InstanceId == chosen.InstanceId
                ? ", and would send this sticky value to the same instance"
                : $", and would send this sticky value to {owner.InstanceId} (service '{owner.Endpoint.ServiceName}')";
        }
        return note;
    }

    private RpcException Unavailable(string image, string why)
    {
        _metrics.Preview("unavailable");
        return RpcErrors.Exception(StatusCode.Unavailable, NoRoutableEndpoint, why, new Dictionary<string, string> { ["image"] = image });
    }

    private static void Validate(PreviewRouteRequest request)
    {
        var errors = new List<FieldViolation>();
        if (request.Service is null)
        {
            errors.Add(new("service", "is required: {\"service\": {\"image\": \"...\"}}"));
        }
        else
        {
            if (RegistrationValidator.ImageProblem(request.Service.Image) is { } imageProblem)
            {
                errors.Add(new("service.image", imageProblem));
            }
            if (request.Service.Name.Length > 0 && RegistrationValidator.NameProblem(request.Service.Name) is { } nameProblem)
            {
                errors.Add(new("service.name", nameProblem));
            }
        }
        if (request.SimulateRequests is < 0 or > MaxSimulatedRequests)
        {
            errors.Add(new("simulate_requests", $"must be between 0 and {MaxSimulatedRequests} (got {request.SimulateRequests})"));
        }
        if (request.StickyValue.Length > MaxStickyValueLength)
        {
            errors.Add(new("sticky_value", $"is {request.StickyValue.Length} characters; at most {MaxStickyValueLength} are allowed"));
        }
        CheckMap(errors, "headers", request.Headers.Count);
        CheckMap(errors, "cookies", request.Cookies.Count);
        CheckMap(errors, "query", request.Query.Count);
        if (errors.Count > 0)
        {
            throw RpcErrors.InvalidArgument(InvalidRequest, errors);
        }

        static void CheckMap(List<FieldViolation> errors, string field, int count)
        {
            if (count > MaxMapEntries)
            {
                errors.Add(new(field, $"has {count} entries; at most {MaxMapEntries} are allowed"));
            }
        }
    }
}
