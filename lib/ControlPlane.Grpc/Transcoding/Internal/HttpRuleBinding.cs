using Google.Protobuf.Reflection;

namespace ControlPlane.Grpc.Transcoding.Internal;

internal enum BodyMapping
{
    /// <summary>No <c>body</c>: the request has no body; every field not in the path is a query parameter.</summary>
    None,

    /// <summary><c>body: "*"</c>: the body is the request message; there are no query parameters.</summary>
    All,

    /// <summary><c>body: "field"</c>: the body is that top-level field; other fields not in the path are query parameters.</summary>
    Field,
}

/// <summary>One validated HTTP binding of a method: a google.api.http rule or one of its additional_bindings.</summary>
internal sealed class HttpRuleBinding
{
    public required MethodDescriptor Method { get; init; }

    /// <summary>"GET", "POST" ... (upper case).</summary>
    public required string HttpMethod { get; init; }

    public required PathTemplate Template { get; init; }

    /// <summary>The request field of each template variable, in <see cref="PathTemplate.Variables"/> order.</summary>
    public required IReadOnlyList<FieldPath> PathFields { get; init; }

    public required BodyMapping Body { get; init; }

    /// <summary>The request field the body maps to, for <see cref="BodyMapping.Field"/>.</summary>
    public FieldDescriptor? BodyField { get; init; }

    /// <summary>The response field written as the whole response body (<c>response_body</c>), or null for the whole message.</summary>
    public FieldDescriptor? ResponseBodyField { get; init; }

    /// <summary>The ASP.NET Core route pattern mapped for this binding.</summary>
    public string RoutePattern => field ??= RoutePatternText.For(Template);

    public override string ToString() => $"{HttpMethod} {Template.Text}";
}
