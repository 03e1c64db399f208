using Google.Protobuf;
using Google.Protobuf.Reflection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>
/// Sets request fields from query parameters (google/api/http.proto: fields neither in the path nor
/// covered by the body "automatically become (optional) HTTP query parameters"). Names are field
/// paths (<c>page.size</c>, proto or JSON names); a repeated field takes the parameter repeated
/// (<c>?ids=a&amp;ids=b</c>). A parameter that names no such field is an error, never ignored; so is a
/// name or value that is not valid percent-encoding of UTF-8.
/// </summary>
internal static class QueryParameterBinder
{
    public static void Apply(IMessage request, HttpRuleBinding binding, QueryString query, JsonParser json, RequestViolations violations)
    {
        if (!query.HasValue)
        {
            return;
        }
        var seen = new HashSet<FieldDescriptor>();
        foreach (var pair in new QueryStringEnumerable(query.Value))
        {
            if (violations.CheckingStopped)
            {
                break;
            }
            // A name or value that does not decode is refused, as a path segment is: taken as written,
            // "reason=bad%FF" would be stored verbatim and "name=video%FF" would silently match nothing.
            if (!PathDecoding.TryDecodeQueryComponent(pair.EncodedName.Span, out var name))
            {
                violations.Add(EchoedValue.Cap(pair.EncodedName.ToString()), "the query parameter name has a malformed percent-encoding or is not UTF-8");
                continue;
            }
            if (name.Length == 0)
            {
                continue;
            }
            if (!PathDecoding.TryDecodeQueryComponent(pair.EncodedValue.Span, out var value))
            {
                violations.Add(EchoedValue.Cap(name), "the query parameter value has a malformed percent-encoding or is not UTF-8");
                continue;
            }
            if (binding.Body == BodyMapping.All)
            {
                // http.proto: with body "*" every field not bound by the path comes from the body.
                violations.Add(EchoedValue.Cap(name), "unknown query parameter: this method takes every field from the JSON body");
                continue;
            }
            var path = FieldPath.Resolve(binding.Method.InputType, name, allowJsonNames: true, out var error);
            if (path is null)
            {
                violations.Add(EchoedValue.Cap(name), "unknown query parameter: " + error);
                continue;
            }
            if (Conflict(binding, path) is { } conflict)
            {
                violations.Add(path.Text, conflict);
                continue;
            }
            var leaf = path.Leaf;
            if (leaf.IsMap || (leaf.FieldType == FieldType.Message && !FieldValueParser.IsTextMessage(leaf.MessageType)))
            {
                violations.Add(path.Text, leaf.IsMap
                    ? "a map field cannot be set by query parameters"
                    : $"'{path.Text}' is a message; set its fields as '{EchoedValue.Cap(name)}.<field>'");
                continue;
            }
            if (!leaf.IsRepeated && !seen.Add(leaf))
            {
                violations.Add(path.Text, "given more than once, but the field is not repeated");
                continue;
            }
            if (!FieldValueParser.TryParse(leaf, value, json, out var parsed, out var parseError))
            {
                violations.Add(path.Text, parseError);
                continue;
            }
            if (leaf.IsRepeated)
            {
                path.Add(request, parsed);
            }
            else
            {
                path.Set(request, parsed);
            }
        }
    }

    private static string? Conflict(HttpRuleBinding binding, FieldPath path)
    {
        if (binding.PathFields.Any(p => p.Overlaps(path)))
        {
            return "set by the URL path, so it cannot be a query parameter";
        }
        if (binding.BodyField is { } body && path.Fields[0] == body)
        {
            return "set by the request body, so it cannot be a query parameter";
        }
        return null;
    }
}
