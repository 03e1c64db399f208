using ControlPlane.Api.V1;
using Google.Protobuf;

namespace ControlPlane.Sdk.Discovery;

/// <summary>
/// Decodes the resources of one response and checks what every consumer relies on: a name, once
/// per response, a payload of the response's type that parses, whose image is its name, and
/// endpoints with an id (once), a host and a port 1-65535. Every problem is reported, each naming
/// the resource and the field as resources.proto spells it.
/// </summary>
internal static class ResourceDecoder
{
    public static List<(Resource Resource, T Message)> Decode<T>(IReadOnlyList<Resource> resources, MessageParser<T> parser, string typeUrl, List<string> errors)
        where T : IMessage<T>
    {
        var kind = typeUrl[(typeUrl.LastIndexOf('.') + 1)..];
        var decoded = new List<(Resource, T)>(resources.Count);
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < resources.Count; i++)
        {
            var resource = resources[i];
            var at = $"{kind} '{resource.Name}' (resources[{i}], version '{resource.Version}')";
            if (string.IsNullOrEmpty(resource.Name))
            {
                errors.Add($"{kind} resources[{i}].name: must not be empty");
                continue;
            }
            if (!names.Add(resource.Name))
            {
                errors.Add($"{at} name: appears twice in the response");
                continue;
            }
            if (resource.Resource_ is not { } any || any.TypeUrl != typeUrl)
            {
                errors.Add($"{at} resource.type_url: '{resource.Resource_?.TypeUrl}' is not '{typeUrl}'");
                continue;
            }
            T message;
            try
            {
                message = parser.ParseFrom(any.Value);
            }
            catch (InvalidProtocolBufferException ex)
            {
                errors.Add($"{at} resource.value: not a valid {kind} ({ex.Message})");
                continue;
            }
            var before = errors.Count;
            Check(resource.Name, message, at, errors);
            if (errors.Count == before)
            {
                decoded.Add((resource, message));
            }
        }
        return decoded;
    }

    private static void Check<T>(string name, T message, string at, List<string> errors)
    {
        switch (message)
        {
            case EndpointSet set:
                if (set.Image.Length > 0 && set.Image != name)
                {
                    errors.Add($"{at} endpoint_set.image: '{set.Image}' is not the resource name");
                }
                var ids = new HashSet<string>(StringComparer.Ordinal);
                for (var i = 0; i < set.Endpoints.Count; i++)
                {
                    var endpoint = set.Endpoints[i];
                    if (endpoint.InstanceId.Length == 0 || !ids.Add(endpoint.InstanceId))
                    {
                        errors.Add($"{at} endpoint_set.endpoints[{i}].instance_id: '{endpoint.InstanceId}' is empty or appears twice");
                    }
                    if (endpoint.Host.Length == 0)
                    {
                        errors.Add($"{at} endpoint_set.endpoints[{i}].host: must not be empty");
                    }
                    if (endpoint.Port is < 1 or > 65535)
                    {
                        errors.Add($"{at} endpoint_set.endpoints[{i}].port: {endpoint.Port} is not 1-65535");
                    }
                }
                break;
            case RoutingPolicy policy when policy.Image.Length > 0 && policy.Image != name:
                errors.Add($"{at} routing_policy.image: '{policy.Image}' is not the resource name");
                break;
        }
    }
}
