using ControlPlane.Grpc.Client;
using ControlPlane.Interop.V1;

namespace ControlPlane.TestCommon;

/// <summary>Client-side methods of interop.v1.TestService, from its descriptor.</summary>
public static class InteropMethods
{
    private static readonly Google.Protobuf.Reflection.ServiceDescriptor Service = TestReflection.Descriptor.Services[0];
    private static readonly Google.Protobuf.Reflection.ServiceDescriptor Unimplemented = TestReflection.Descriptor.Services[1];

    public static readonly Method<Empty, Empty> EmptyCall = new(Service.Methods[0]);
    public static readonly Method<SimpleRequest, SimpleResponse> UnaryCall = new(Service.Methods[1]);
    public static readonly Method<StreamingOutputCallRequest, StreamingOutputCallResponse> StreamingOutputCall = new(Service.Methods[2]);
    public static readonly Method<StreamingInputCallRequest, StreamingInputCallResponse> StreamingInputCall = new(Service.Methods[3]);
    public static readonly Method<StreamingOutputCallRequest, StreamingOutputCallResponse> FullDuplexCall = new(Service.Methods[4]);
    public static readonly Method<Empty, Empty> UnimplementedCall = new(Service.Methods[5]);
    public static readonly Method<Empty, Empty> UnimplementedServiceCall = new(Unimplemented.Methods[0]);

    public static Google.Protobuf.Reflection.ServiceDescriptor TestService => Service;
}
