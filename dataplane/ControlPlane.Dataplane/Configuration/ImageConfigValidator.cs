using ControlPlane.Api.V1;
using ControlPlane.LoadBalancing;

namespace ControlPlane.Dataplane.Configuration;

/// <summary>
/// Checks an image's resources before the node uses them (the discovery client NACKs what fails
/// here with these messages, and keeps its last good version). Every problem is reported, each
/// naming the field as resources.proto spells it.
/// </summary>
internal static class ImageConfigValidator
{
    public const int MaxImageLength = 253;

    public static IReadOnlyList<string> Validate(ImageConfig config, LoadBalancingPolicies policies)
    {
        var errors = new List<string>();
        if (string.IsNullOrEmpty(config.Image) || config.Image.Length > MaxImageLength || config.Image.Contains('/') || config.Image.Any(char.IsControl))
        {
            errors.Add($"image: '{config.Image}' must be 1-{MaxImageLength} characters, without '/' or control characters");
        }
        if (config.Endpoints is { } set)
        {
            ValidateEndpoints(config.Image, set, errors);
        }
        if (config.Policy is { } policy)
        {
            if (!string.IsNullOrEmpty(policy.Image) && policy.Image != config.Image)
            {
                errors.Add($"routing_policy.image: '{policy.Image}' is not the image '{config.Image}'");
            }
            if (!string.IsNullOrEmpty(policy.Algorithm) && !policies.TryGet(policy.Algorithm, out _))
            {
                errors.Add($"routing_policy.algorithm: '{policy.Algorithm}' is not one of {string.Join(", ", policies.Names)}");
            }
        }
        return errors;
    }

    private static void ValidateEndpoints(string image, EndpointSet set, List<string> errors)
    {
        if (!string.IsNullOrEmpty(set.Image) && set.Image != image)
        {
            errors.Add($"endpoint_set.image: '{set.Image}' is not the image '{image}'");
        }
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < set.Endpoints.Count; i++)
        {
            var endpoint = set.Endpoints[i];
            var at = $"endpoint_set.endpoints[{i}]";
            if (string.IsNullOrEmpty(endpoint.InstanceId))
            {
                errors.Add($"{at}.instance_id: must not be empty");
            }
            else if (!ids.Add(endpoint.InstanceId))
            {
                errors.Add($"{at}.instance_id: '{endpoint.InstanceId}' appears twice");
            }
            if (Uri.CheckHostName(endpoint.Host.Trim('[', ']')) == UriHostNameType.Unknown)
            {
                errors.Add($"{at}.host: '{endpoint.Host}' is not a host name or IP address");
            }
            if (endpoint.Port is < 1 or > 65535)
            {
                errors.Add($"{at}.port: {endpoint.Port} is not 1-65535");
            }
        }
    }
}
