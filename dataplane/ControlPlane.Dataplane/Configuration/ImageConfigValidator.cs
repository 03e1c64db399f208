using ControlPlane.Api.V1;
using ControlPlane.Api.Validation;
using ControlPlane.LoadBalancing;

namespace ControlPlane.Dataplane.Configuration;

/// <summary>
/// Checks an image's resources before the node uses them (the discovery client NACKs what fails
/// here with these messages, and keeps its last good version). Every problem is reported, each
/// naming the field as resources.proto spells it. Image names and hosts follow the control plane's
/// own rules (<see cref="ImageName"/>, <see cref="EndpointHost"/>), so the node accepts exactly what
/// a registration could have produced.
/// </summary>
internal static class ImageConfigValidator
{
    public static IReadOnlyList<string> Validate(ImageConfig config, LoadBalancingPolicies policies)
    {
        var errors = new List<string>();
        if (!ImageName.IsValid(config.Image))
        {
            errors.Add($"image: '{Shown(config.Image)}' is not valid: expected {ImageName.Expected}");
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
            if (!EndpointHost.IsValid(endpoint.Host))
            {
                errors.Add($"{at}.host: '{Shown(endpoint.Host)}' is not a host name or IP address (an IPv6 address takes at most one pair of brackets)");
            }
            if (endpoint.Port is < 1 or > 65535)
            {
                errors.Add($"{at}.port: {endpoint.Port} is not 1-65535");
            }
        }
    }

    /// <summary>A little of a bad value for the error (a NACK's error_detail, logged by both sides), never a whole hostile one.</summary>
    private static string Shown(string? value)
    {
        value ??= "";
        var shown = value.Length <= 64 ? value : value[..64] + "...";
        return new string([.. shown.Select(c => char.IsControl(c) ? '?' : c)]);
    }
}
