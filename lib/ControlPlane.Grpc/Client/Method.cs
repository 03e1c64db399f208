using ControlPlane.Grpc.Protocol;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace ControlPlane.Grpc.Client;

/// <summary>The four call shapes.</summary>
public enum MethodType
{
    Unary,
    ClientStreaming,
    ServerStreaming,
    DuplexStreaming,
}

/// <summary>A callable method, made from its protobuf descriptor (never from a typed name).</summary>
public sealed class Method<TRequest, TResponse>
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    /// <summary>
    /// Checks that <typeparamref name="TRequest"/> and <typeparamref name="TResponse"/> are the
    /// descriptor's message types, so a mismatch fails here rather than on the wire.
    /// </summary>
    public Method(MethodDescriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        if (descriptor.InputType.ClrType != typeof(TRequest) || descriptor.OutputType.ClrType != typeof(TResponse))
        {
            throw new ArgumentException(
                $"'{descriptor.FullName}' takes {descriptor.InputType.ClrType?.Name} and returns {descriptor.OutputType.ClrType?.Name}, not {typeof(TRequest).Name} and {typeof(TResponse).Name}.",
                nameof(descriptor));
        }
        Descriptor = descriptor;
        Path = "/" + descriptor.Service.FullName + "/" + descriptor.Name;
        Type = (descriptor.IsClientStreaming, descriptor.IsServerStreaming) switch
        {
            (false, false) => MethodType.Unary,
            (true, false) => MethodType.ClientStreaming,
            (false, true) => MethodType.ServerStreaming,
            _ => MethodType.DuplexStreaming,
        };
    }

    public MethodDescriptor Descriptor { get; }

    /// <summary>"/package.Service/Method".</summary>
    public string Path { get; }

    public MethodType Type { get; }

    public string FullName => Descriptor.FullName;

    internal MessageParser<TResponse> ResponseParser => MessageParsers<TResponse>.Instance;

    public override string ToString() => Path;
}
