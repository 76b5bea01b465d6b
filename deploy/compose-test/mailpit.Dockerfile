# The compose test's stand-in for axllent/mailpit (BRIDGES_MAILPIT_IMAGE), built on the ops
# image (SERVICE=devstack), which has aiosmtpd.
ARG DEVSTACK_IMAGE=bridges/devstack:latest
FROM ${DEVSTACK_IMAGE}
COPY deploy/compose-test/mailpit.py /mailpit
ENTRYPOINT ["/mailpit"]
CMD []
