using ControlPlane.Api.V1;
using Endpoint = ControlPlane.Api.V1.Endpoint;
using ControlPlane.Dataplane.Forwarder;
using ControlPlane.Dataplane.Health;
using ControlPlane.Dataplane.LoadBalancing;
using ControlPlane.LoadBalancing;
using Microsoft.Extensions.Primitives;

namespace ControlPlane.Dataplane.Configuration;

/// <summary>
/// Builds snapshots for providers: validates every image, builds its balancer, precomputes the
/// upstream destinations, and carries runtime state over from the previous snapshot. An image
/// whose resources did not change keeps its <see cref="ImageRoute"/> (and so its balancer's
/// position); endpoints that stay keep their in-flight counts and passive health.
/// </summary>
internal sealed class ProxyConfigFactory(LoadBalancingPolicies policies, BalancerOptions balancerOptions, TimeProvider time)
{
    public TimeProvider Time { get; } = time;

    /// <summary>Validates <paramref name="image"/>; empty when it may be used.</summary>
    public IReadOnlyList<string> Validate(ImageConfig image) => ImageConfigValidator.Validate(image, policies);

    /// <summary>
    /// The snapshot holding exactly <paramref name="images"/>. Throws <see cref="InvalidProxyConfigException"/>
    /// listing every problem when any image is invalid; nothing is built then.
    /// </summary>
    public ProxyConfig Build(ProxyConfig previous, IEnumerable<ImageConfig> images, IChangeToken changeToken)
    {
        var list = images.ToList();
        var routes = new Dictionary<string, ImageRoute>(list.Count, StringComparer.Ordinal);
        return Next(previous, routes, list, changeToken);
    }

    /// <summary>
    /// The snapshot holding <paramref name="previous"/>'s images but <paramref name="removed"/>, with
    /// <paramref name="changed"/> added or replacing theirs: only those are validated and built, so a
    /// change costs what changed (and a copy of the table), not the whole configuration. Throws
    /// <see cref="InvalidProxyConfigException"/> as <see cref="Build"/> does; a name both removed and
    /// changed is changed.
    /// </summary>
    public ProxyConfig Patch(ProxyConfig previous, IReadOnlyCollection<ImageConfig> changed, IEnumerable<string> removed, IChangeToken changeToken)
    {
        var routes = previous.CopyImages();
        foreach (var name in removed)
        {
            routes.Remove(name);
        }
        return Next(previous, routes, changed, changeToken);
    }

    /// <summary>Validates <paramref name="images"/> as a whole, then sets their routes in <paramref name="routes"/> (built, or kept from <paramref name="previous"/> when unchanged).</summary>
    private ProxyConfig Next(ProxyConfig previous, Dictionary<string, ImageRoute> routes, IReadOnlyCollection<ImageConfig> images, IChangeToken changeToken)
    {
        var errors = new List<string>();
        var names = new HashSet<string>(images.Count, StringComparer.Ordinal);
        foreach (var image in images)
        {
            ArgumentNullException.ThrowIfNull(image);
            if (!names.Add(image.Image))
            {
                errors.Add($"image '{image.Image}': configured twice");
            }
            errors.AddRange(Validate(image).Select(e => $"image '{image.Image}': {e}"));
        }
        if (errors.Count > 0)
        {
            throw new InvalidProxyConfigException(errors);
        }
        foreach (var image in images)
        {
            previous.Images.TryGetValue(image.Image, out var before);
            routes[image.Image] = before is not null && Unchanged(before, image) ? before : BuildRoute(image, before);
        }
        return new ProxyConfig(previous.Revision + 1, routes, changeToken, Time.GetUtcNow());
    }

    private ImageRoute BuildRoute(ImageConfig config, ImageRoute? before)
    {
        var endpoints = config.Endpoints ?? new EndpointSet { Image = config.Image };
        ILoadBalancer balancer;
        try
        {
            balancer = policies.Build(endpoints, config.Policy, balancerOptions);
        }
        catch (ArgumentException ex)
        {
            throw new InvalidProxyConfigException([$"image '{config.Image}': {ex.Message}"]);
        }
        var count = endpoints.Endpoints.Count;
        var destinations = new UpstreamDestination[count];
        var states = new EndpointState[count];
        for (var i = 0; i < count; i++)
        {
            var endpoint = endpoints.Endpoints[i];
            destinations[i] = UpstreamDestination.For(endpoint);
            states[i] = Carried(before, endpoint) ?? new EndpointState(endpoint.InstanceId, endpoint.Host, endpoint.Port);
        }
        return new ImageRoute(
            config, endpoints, balancer, destinations, states,
            before?.Health ?? new ImageHealth(Time),
            before?.RetryBudget ?? new RetryBudget());
    }

    private static EndpointState? Carried(ImageRoute? before, Endpoint endpoint)
    {
        if (before is null)
        {
            return null;
        }
        foreach (var state in before.States)
        {
            if (state.SameEndpoint(endpoint.InstanceId, endpoint.Host, endpoint.Port))
            {
                return state;
            }
        }
        return null;
    }

    /// <summary>Same resources as <paramref name="before"/>: equal versions when both are versioned, else equal content.</summary>
    private static bool Unchanged(ImageRoute before, ImageConfig config)
    {
        var endpoints = config.EndpointsVersion is not null && before.EndpointsVersion is not null
            ? config.EndpointsVersion == before.EndpointsVersion
            : config.EndpointsVersion is null && before.EndpointsVersion is null && Equals(config.Endpoints ?? new EndpointSet { Image = config.Image }, before.Endpoints);
        var policyVersion = config.PolicyVersion ?? (string.IsNullOrEmpty(config.Policy?.Version) ? null : config.Policy.Version);
        var policy = policyVersion is not null && before.PolicyVersion is not null
            ? policyVersion == before.PolicyVersion
            : policyVersion is null && before.PolicyVersion is null && Equals(config.Policy, before.Policy);
        return endpoints && policy;
    }
}
