namespace ControlPlane.Api.Validation;

/// <summary>
/// What a node's id, zone and region are, for every process that takes one: the control plane on a
/// stream's first request and a load report, the dataplane node at start, and a per-node token's
/// issuer. They are shown in the fleet view, logs and metrics and name nodes in URL paths
/// (<c>/v1/dataplanes/{node_id}</c>): printable ASCII without spaces (0x21-0x7E), which Envoy's and
/// Istio's ids ("sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local") fit, up to <see cref="MaxLength"/>
/// characters. The offending character is named by code point, never echoed.
/// </summary>
public static class NodeText
{
    public const int MaxLength = 128;

    /// <summary>Why <paramref name="value"/> breaks the text rule, or null.</summary>
    public static string? Problem(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length > MaxLength)
        {
            return $"is {value.Length} characters long; at most {MaxLength}";
        }
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] is < '!' or > '~')
            {
                return $"has U+{(int)value[i]:X4} at position {i}: only printable ASCII without spaces (0x21-0x7E) is allowed, no control characters, whitespace or non-ASCII";
            }
        }
        return null;
    }

    /// <summary>
    /// Why <paramref name="id"/> cannot be a node id, or null: the text rule, and not "." or "..", which
    /// URL paths resolve away (/v1/dataplanes/.. would never reach the node). Empty is the caller's to judge.
    /// </summary>
    public static string? IdProblem(string id) =>
        id is "." or ".." ? "must not be '.' or '..' (node ids are URL path segments)" : Problem(id);
}
