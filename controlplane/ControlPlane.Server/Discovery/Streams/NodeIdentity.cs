using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Server.Resources;

namespace ControlPlane.Server.Discovery.Streams;

/// <summary>Validation of what nodes send: their identity on the first request, type URLs and name lists on every request.</summary>
internal static class NodeIdentity
{
    public const string Reason = "invalid_request";
    public const int MaxIdLength = 128;
    public const int MaxMetadataEntries = 64;
    public const int MaxMetadataBytes = 8192;

    /// <summary>The node of a stream's first request, checked and copied (the stream keeps it unchanged).</summary>
    public static Node Validate(Node? node)
    {
        List<FieldViolation> violations = [];
        if (node is null)
        {
            violations.Add(new("node", "is required on the first request of a stream"));
        }
        else
        {
            if (node.Id.Length == 0)
            {
                violations.Add(new("node.id", "is required"));
            }
            else if (IdProblem(node.Id) is { } problem)
            {
                violations.Add(new("node.id", problem));
            }
            if (node.Zone.Length > 0)
            {
                CheckText(violations, "node.zone", node.Zone);
            }
            if (node.Region.Length > 0)
            {
                CheckText(violations, "node.region", node.Region);
            }
            if (node.UserAgentName.Length > 0)
            {
                CheckText(violations, "node.user_agent_name", node.UserAgentName);
            }
            if (node.UserAgentVersion.Length > 0)
            {
                CheckText(violations, "node.user_agent_version", node.UserAgentVersion);
            }
            if (node.Metadata is { } metadata)
            {
                if (metadata.Fields.Count > MaxMetadataEntries || metadata.CalculateSize() > MaxMetadataBytes)
                {
                    violations.Add(new("node.metadata", $"has {metadata.Fields.Count} keys and {metadata.CalculateSize()} bytes; at most {MaxMetadataEntries} keys and {MaxMetadataBytes} bytes"));
                }
                else if (StructRules.Depth(metadata) > StructRules.MaxDepth)
                {
                    violations.Add(new("node.metadata", $"nests objects and lists more than {StructRules.MaxDepth} levels deep"));
                }
                else if (StructRules.FirstNotJson(metadata, "node.metadata") is { } path)
                {
                    // The fleet view shows it as JSON: a NaN would make the REST listing unreadable for everyone.
                    violations.Add(new(path, "must be null, a finite number, a string, a boolean, an object or a list"));
                }
            }
        }
        if (violations.Count > 0)
        {
            throw RpcErrors.InvalidArgument(Reason, violations);
        }
        return node!.Clone();
    }

    /// <summary>
    /// Ids, zones and regions are shown in the fleet view, logs and metrics and name nodes in URL paths
    /// (/v1/dataplanes/{node_id}): printable ASCII without spaces (0x21-0x7E), which Envoy's and
    /// Istio's ids ("sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local") fit, up to <see cref="MaxIdLength"/>
    /// characters. The offending character is named by code point, never echoed.
    /// </summary>
    private static void CheckText(List<FieldViolation> violations, string field, string value)
    {
        if (TextProblem(value) is { } problem)
        {
            violations.Add(new(field, problem));
        }
    }

    /// <summary>
    /// Why <paramref name="id"/> cannot be a node id, or null: the text rule, and not "." or "..", which
    /// URL paths resolve away (/v1/dataplanes/.. would never reach the node).
    /// </summary>
    public static string? IdProblem(string id) =>
        id is "." or ".." ? "must not be '.' or '..' (node ids are URL path segments)" : TextProblem(id);

    private static string? TextProblem(string value)
    {
        if (value.Length > MaxIdLength)
        {
            return $"is {value.Length} characters long; at most {MaxIdLength}";
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

    /// <summary>A later request may repeat the node, but not change it (xDS: "the node identifier should always be identical if present more than once").</summary>
    public static void CheckSame(Node? repeated, Node first)
    {
        if (repeated is { Id.Length: > 0 } && repeated.Id != first.Id)
        {
            throw RpcErrors.InvalidArgument(Reason, [new("node.id", $"is '{repeated.Id}', but this stream belongs to node '{first.Id}'")]);
        }
    }

    public static string RequireType(string typeUrl)
    {
        if (typeUrl.Length == 0)
        {
            throw RpcErrors.InvalidArgument(Reason, [new("type_url", "is required")]);
        }
        if (!ResourceTypes.IsKnown(typeUrl))
        {
            throw RpcErrors.InvalidArgument(Reason, [new("type_url", $"'{typeUrl}' is not a resource type of this server; known: {ResourceTypes.EndpointSet}, {ResourceTypes.RoutingPolicy}")]);
        }
        return typeUrl == ResourceTypes.EndpointSet ? ResourceTypes.EndpointSet : ResourceTypes.RoutingPolicy;
    }

    public static void RequireNames(ICollection<string> names, string field, int max)
    {
        if (names.Count > max)
        {
            throw RpcErrors.InvalidArgument(Reason, [new(field, $"carries {names.Count} names; at most {max} per request")]);
        }
        // An ACK carries no names: nothing to enumerate (an enumerator is an allocation per request).
        if (names.Count > 0 && names.Any(n => n.Length == 0))
        {
            throw RpcErrors.InvalidArgument(Reason, [new(field, "contains an empty name")]);
        }
    }
}
